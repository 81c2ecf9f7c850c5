"""Store notices from managers to advisors, and who has read them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from portal.models.accounts import User
    from portal.models.stores import Store


class Notice(Base):
    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    to_all: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    store: Mapped[Store] = relationship()
    author: Mapped[User] = relationship()
    recipients: Mapped[list[NoticeRecipient]] = relationship(
        back_populates="notice", order_by="NoticeRecipient.advisor_id"
    )

    def __str__(self) -> str:
        return self.title


class NoticeRecipient(Base):
    """One advisor a notice went to; read_at is set once, when they mark it read."""

    __tablename__ = "notice_recipients"

    notice_id: Mapped[int] = mapped_column(
        ForeignKey("notices.id", ondelete="CASCADE"), primary_key=True
    )
    advisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    notice: Mapped[Notice] = relationship(back_populates="recipients")
    advisor: Mapped[User] = relationship()
