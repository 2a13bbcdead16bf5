from django.apps import AppConfig


class ProvincesConfig(AppConfig):
    name = "provinces"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from provinces.signals import pupil_saved

        post_save.connect(pupil_saved, sender="registry.Pupil", dispatch_uid="provinces.pupil_match_keys")
