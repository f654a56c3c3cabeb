"""`autan bench`'s measurements: kernels against their peers, the engine against its hardware
floors, the indexer against ctags, the LSP keystroke path cache on against cache off. The CLI
(`cli/bench*.py`) parses options and prints; the measuring is here."""
