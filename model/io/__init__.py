"""What goes in and out of the engine as files and text: the checkpoint loader and writer, the
tokenizer, fill-in-the-middle prompt layouts, the bundled and the demo model. Nothing here
except the loader and the writer needs torch."""
