from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import relationship

from flask_appbuilder import Model

from app.domain.plate import Plate
from app.domain.vehicle_class import VEHICLE_CLASSES

from .mixins import TimestampMixin


class Vehicle(TimestampMixin, Model):
    """車両: one vehicle of a member; a corporate card is tied to exactly one vehicle."""

    __tablename__ = "vehicle"
    __table_args__ = (UniqueConstraint("plate_region", "plate_class_number", "plate_kana", "plate_serial",
                                       name="uq_vehicle_plate"),)
    id = Column(Integer, primary_key=True)
    member_id = Column(Integer, ForeignKey("member.id"), nullable=False, index=True)
    member = relationship("Member", backref="vehicles")
    plate_region = Column(String(10), nullable=False)  # 地名
    plate_class_number = Column(String(3), nullable=False)  # 分類番号
    plate_kana = Column(String(1), nullable=False)  # ひらがな
    plate_serial = Column(Integer, nullable=False)  # 一連番号
    vehicle_class = Column(Integer, nullable=False, default=1)  # 車種区分 1..5
    is_etc2 = Column(Boolean, nullable=False, default=False)  # ETC2.0 車載器
    is_commercial = Column(Boolean, nullable=False, default=False)  # 事業用 (緑・黒ナンバー)
    note = Column(String(200))

    @property
    def plate(self) -> Plate:
        return Plate(self.plate_region, self.plate_class_number, self.plate_kana, self.plate_serial)

    def plate_text(self) -> str:
        return str(self.plate)

    def vehicle_class_name(self) -> str:
        return VEHICLE_CLASSES.get(self.vehicle_class, "")

    def __repr__(self):
        return self.plate_text()
