class ModelFileError(Exception):
    """A model folder or file that cannot be used.

    `path` names it and `problem` says why, in one line, for the user.
    """
    def __init__(self, path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem
