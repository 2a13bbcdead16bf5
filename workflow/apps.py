from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "workflow"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Workflow"

    def ready(self) -> None:
        # Every app defines its approval chains in ``chain``/``chains``: load them all so the
        # engine knows each chain (我发起的, 待办 per person) whatever was imported first.
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("chain", "chains")
