"""The `road_category` parameter shared by the road operators' discount rules: which part of a row's
toll (高速国道 / 一般有料道路 / 公社道路, kept apart by nexco-fixed) the rule's base is made of."""
from ..errors import DomainError
from ..member_month import EXPRESSWAY, ROAD_CATEGORIES


class RoadCategoryParam:
    """Mixin for a RuleType with an optional `road_category` (default 高速国道)."""

    @staticmethod
    def check_road_category(params: dict, where: str) -> None:
        category = params.get("road_category")
        if category is not None and category not in ROAD_CATEGORIES:
            raise DomainError(f"{where}: road_category は {', '.join(ROAD_CATEGORIES)} のいずれかです"
                              f"（{'・'.join(ROAD_CATEGORIES.values())}）。")

    @property
    def category(self) -> str:
        return self.rule.params.get("road_category") or EXPRESSWAY
