"""clip19_item_clips: an inspection item's short video clip, uploaded and waiting for the
worker, then transcoded (a small video without the upload's metadata, and a poster frame) or
refused with a reason

Revision ID: 0069_clip19_item_clips
Revises: 0069_lists21b_quote_store_status
Create Date: 2026-12-04 15:20:00

"""

import sqlalchemy as sa
from alembic import op

from portal.models.base import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0069_clip19_item_clips"
down_revision = "0069_lists21b_quote_store_status"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "inspection_clips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("original", sa.LargeBinary(), nullable=True),
        sa.Column("video", sa.LargeBinary(), nullable=True),
        sa.Column("poster", sa.LargeBinary(), nullable=True),
        sa.Column("content_type", sa.String(length=32), nullable=True),
        sa.Column("video_bytes", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'processing', 'ready', 'refused')",
            name=op.f("ck_inspection_clips_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["inspection_items.id"],
            name=op.f("fk_inspection_clips_item_id_inspection_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name=op.f("fk_inspection_clips_uploaded_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_clips")),
        sa.UniqueConstraint("item_id", name=op.f("uq_inspection_clips_item_id")),
    )
    op.create_index("ix_inspection_clips_status", "inspection_clips", ["status", "id"])
    if op.get_bind().dialect.name == "postgresql":
        # Videos do not compress: stored as they are, a byte range is read without the rest.
        op.execute("ALTER TABLE inspection_clips ALTER COLUMN video SET STORAGE EXTERNAL")
    op.create_index(
        op.f("ix_inspection_clips_uploaded_by_id"), "inspection_clips", ["uploaded_by_id"]
    )


def downgrade():
    op.drop_index(op.f("ix_inspection_clips_uploaded_by_id"), table_name="inspection_clips")
    op.drop_index("ix_inspection_clips_status", table_name="inspection_clips")
    op.drop_table("inspection_clips")
