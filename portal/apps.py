from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The pages that bring several apps together: 首页, the pupil's page, the navigation."""

    name = "portal"
    verbose_name = "Portal"
