"""Settings: ``base`` (shared), ``development`` (make run, make test, manage.py) and
``production`` (docker-compose; fails closed). ``DJANGO_SETTINGS_MODULE`` picks one."""
