from django.apps import AppConfig
from django.db.models.signals import post_save


class DuplicatesConfig(AppConfig):
    name = "duplicates"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Duplicates"

    def ready(self) -> None:
        # Imported once the models are loaded (Django's app-loading order).
        from duplicates.keys import guardian_changed, pupil_saved

        post_save.connect(pupil_saved, sender="registry.Pupil", dispatch_uid="duplicates.pupil_match_keys")
        post_save.connect(guardian_changed, sender="registry.Guardian", dispatch_uid="duplicates.guardian_match_keys")
