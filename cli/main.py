def run() -> None:
    print("autan")
