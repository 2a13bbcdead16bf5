from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Development tooling: embedded servers, ``make run``'s launcher and the demo data.

    Installed by ``config.settings.development`` only; production never loads it.
    """

    name = "devtools"
    verbose_name = "Development tools"
