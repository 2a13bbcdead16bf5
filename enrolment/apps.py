from django.apps import AppConfig


class EnrolmentConfig(AppConfig):
    """How pupils come into a school's register: 新生注册 (registration) with the checks the
    form, the API and the roster share."""

    name = "enrolment"
    verbose_name = "Enrolment"

    def ready(self) -> None:
        from enrolment import exchange_handlers

        # The question other provinces' registries ask: is this ID number held here?
        exchange_handlers.register()
