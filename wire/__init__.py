"""What the LSP process and the engine process say to each other, torch-free: the request
parameters and statistics both sides use, the message types, msgpack framing."""
