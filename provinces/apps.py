from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ProvincesConfig(AppConfig):
    name = "provinces"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported once the models are loaded (Django's app-loading order).
        from provinces import cache, divisions

        post_save.connect(divisions.clear_cache, sender="provinces.Division", dispatch_uid="provinces.division_saved")
        post_delete.connect(divisions.clear_cache, sender="provinces.Division", dispatch_uid="provinces.division_deleted")
        for model in ("provinces.ProvincePolicy", "provinces.CalendarOverride"):
            post_save.connect(cache.forget_on_change, sender=model, dispatch_uid=f"{model}.saved")
            post_delete.connect(cache.forget_on_change, sender=model, dispatch_uid=f"{model}.deleted")
