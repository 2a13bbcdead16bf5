from django.apps import AppConfig


class TransfersConfig(AppConfig):
    name = "transfers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from registry import disclosure
        from transfers import cross_registry, exchange_handlers, lookup

        # Answers naming a foreign pupil, given below this layer, are recorded as lookups.
        disclosure.register(record=lookup.record_answer, recent=lookup.answers_last_hour)
        # Another province's registry looks up a pupil here to start a transfer (跨省转学).
        exchange_handlers.register()
        cross_registry.register()
