"""The one exception type for problems a user can fix (absent data, bad value, unknown name)."""


class NnxError(Exception):
    """A user-fixable problem: `str(err)` is the message, `err.fix` says what to do about it."""

    def __init__(self, message: str, fix: str | None = None):
        super().__init__(message)
        self.fix = fix

    def __str__(self) -> str:
        text = self.args[0]
        return f"{text}\n  fix: {self.fix}" if self.fix else text
