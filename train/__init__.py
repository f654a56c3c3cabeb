"""Training and evaluation of autan's own code models.

The pipeline, one module each: `corpus` gathers permissively licensed source and holds out
whole packages; `bpe` trains the tokenizer; `fim_examples` turns documents into
fill-in-the-middle samples packed by repository; `data` builds each epoch's token sequences;
`loop` trains the engine's own `Model`; `evaluate` scores a model folder on held-out code.
Nothing here unpickles: training state is saved as safetensors plus JSON, like the weights.
"""
