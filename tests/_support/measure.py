"""Numbers the fault and cluster tests measure, printed at the end of the pytest run."""

NOTES: list[str] = []


def note(line: str) -> None:
    NOTES.append(line)
