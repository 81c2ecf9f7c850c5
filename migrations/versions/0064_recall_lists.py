"""recall notices: a store's recall lists (the VINs a manufacturer's recall affects) and
their VINs; a recall list's segment names its owners

Revision ID: 0064_recall_lists
Revises: 0063_builtins_more
Create Date: 2026-12-04 03:00:00

"""

import sqlalchemy as sa
from alembic import op

import portal.models.base

# revision identifiers, used by Alembic.
revision = "0064_recall_lists"
down_revision = "0063_builtins_more"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "crm_recall_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("vins", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("notice_at", portal.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("vins >= 1", name=op.f("ck_crm_recall_lists_vins_positive")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_crm_recall_lists_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["crm_segments.id"],
            name=op.f("fk_crm_recall_lists_segment_id_crm_segments"),
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_crm_recall_lists_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_recall_lists")),
        sa.UniqueConstraint("store_id", "name", name=op.f("uq_crm_recall_lists_store_id_name")),
    )
    op.create_index(
        op.f("ix_crm_recall_lists_store_id"), "crm_recall_lists", ["store_id"], unique=False
    )
    op.create_table(
        "crm_recall_vins",
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("vin", sa.String(length=17), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["crm_recall_lists.id"],
            name=op.f("fk_crm_recall_vins_list_id_crm_recall_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", "vin", name=op.f("pk_crm_recall_vins")),
    )
    op.create_index("ix_crm_recall_vins_vin", "crm_recall_vins", ["vin"], unique=False)


def downgrade():
    op.drop_index("ix_crm_recall_vins_vin", table_name="crm_recall_vins")
    op.drop_table("crm_recall_vins")
    op.drop_index(op.f("ix_crm_recall_lists_store_id"), table_name="crm_recall_lists")
    op.drop_table("crm_recall_lists")
