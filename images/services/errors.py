"""The errors domain operations raise: each carries the HTTP status the API answers with."""


class ServiceError(Exception):
    status_code = 400

    def __init__(self, message: str = "", *, field: str | None = None):
        super().__init__(message)
        self.field = field  # the input the message is about (a form shows it there), if any


class InvalidInput(ServiceError):
    status_code = 400


class NotPermitted(ServiceError):
    status_code = 403


class NotFound(ServiceError):
    status_code = 404


class Conflict(ServiceError):
    status_code = 409


class LimitExceeded(ServiceError):
    status_code = 413


class StoreFailed(ServiceError):
    status_code = 503
