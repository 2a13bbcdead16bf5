from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """统计 and documents: dashboards per level, exports, the comparison with 教育事业统计,
    学籍表 and 在读证明 with their public verification."""

    name = "reports"
    verbose_name = "Reports"
