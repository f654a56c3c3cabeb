"""The engine process (`autan engine`): the model behind a msgpack-RPC socket
(`rpc_server.py`) and, optionally, an OpenAI-compatible HTTP endpoint (`http_api.py`). It is
the only process that loads torch; the LSP process talks to it through `autan.wire`."""
