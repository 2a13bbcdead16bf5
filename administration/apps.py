from django.apps import AppConfig


class AdministrationConfig(AppConfig):
    """Province administration (省级管理): the province's policy and holiday calendar, edited by
    its admin. The values live in ``provinces`` (read by every layer); editing them needs the
    accounts layer, so the pages and services live up here."""

    name = "administration"
    verbose_name = "Administration"
