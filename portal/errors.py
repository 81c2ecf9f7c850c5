"""Domain errors raised by services and turned into form errors or 4xx answers by views."""


class DomainError(Exception):
    """A business rule refused the request; the message is safe to show to the user."""

    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(DomainError):
    """Submitted data is malformed or breaks a rule."""

    status = 400


class NotAllowed(DomainError):
    """The actor may not do this to this object."""

    status = 403


class NotFound(DomainError):
    """The object does not exist or is not visible to the actor."""

    status = 404


class Conflict(DomainError):
    """Someone else changed the object first, or a unique rule was hit."""

    status = 409


class Gone(DomainError):
    """The object existed but is no longer available (an expired link)."""

    status = 410
