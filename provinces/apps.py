from django.apps import AppConfig


class ProvincesConfig(AppConfig):
    name = "provinces"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from provinces import cache, divisions
        from provinces.signals import pupil_saved

        post_save.connect(pupil_saved, sender="registry.Pupil", dispatch_uid="provinces.pupil_match_keys")
        post_save.connect(divisions.clear_cache, sender="provinces.Division", dispatch_uid="provinces.division_saved")
        post_delete.connect(divisions.clear_cache, sender="provinces.Division", dispatch_uid="provinces.division_deleted")
        for model in ("provinces.ProvincePolicy", "provinces.CalendarOverride"):
            post_save.connect(cache.forget_on_change, sender=model, dispatch_uid=f"{model}.saved")
            post_delete.connect(cache.forget_on_change, sender=model, dispatch_uid=f"{model}.deleted")
