"""policy_consent: the privacy policy's versions, and a record of every consent with its time,
policy version, source and (for staff entries) how it was obtained

Revision ID: 0034_policy_consent
Revises: 0022_admin_speed
Create Date: 2026-12-03 12:05:00

"""

from alembic import op
import sqlalchemy as sa

import portal.models.base

# revision identifiers, used by Alembic.
revision = "0034_policy_consent"
down_revision = '0035_encryption'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "privacy_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("summary_zh", sa.String(length=300), nullable=False),
        sa.Column("summary_en", sa.String(length=300), nullable=False),
        sa.Column("text_zh", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("published_at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("version > 0", name=op.f("ck_privacy_policies_version_positive")),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["users.id"],
            name=op.f("fk_privacy_policies_published_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_policies")),
        sa.UniqueConstraint("version", name=op.f("uq_privacy_policies_version")),
    )
    with op.batch_alter_table("privacy_policies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_privacy_policies_effective_at"), ["effective_at"], unique=False
        )
    op.create_table(
        "consent_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=True),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("at", portal.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('policy', 'marketing')", name=op.f("ck_consent_records_kind_known")
        ),
        sa.CheckConstraint(
            "(kind = 'policy' AND channel IS NULL) OR "
            "(kind = 'marketing' AND channel IN ('inapp', 'email', 'sms', 'wechat'))",
            name=op.f("ck_consent_records_channel_matches_kind"),
        ),
        sa.CheckConstraint(
            "source IN ('registration', 'settings', 'unsubscribe', 'staff', 'policy_prompt')",
            name=op.f("ck_consent_records_source_known"),
        ),
        sa.CheckConstraint(
            "(source = 'staff' AND method IN ('paper_form', 'phone_recording', 'in_person'))"
            " OR (source <> 'staff' AND method IS NULL)",
            name=op.f("ck_consent_records_method_with_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["privacy_policies.id"],
            name=op.f("fk_consent_records_policy_id_privacy_policies"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_consent_records_recorded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_consent_records_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_records")),
    )
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.create_index("ix_consent_records_user_at", ["user_id", "at"], unique=False)
        batch_op.create_index(
            "uq_consent_records_policy_accepted",
            ["user_id", "policy_id"],
            unique=True,
            sqlite_where=sa.text("kind = 'policy' AND granted"),
            postgresql_where=sa.text("kind = 'policy' AND granted"),
        )


def downgrade():
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.drop_index("uq_consent_records_policy_accepted")
        batch_op.drop_index("ix_consent_records_user_at")
    op.drop_table("consent_records")
    with op.batch_alter_table("privacy_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_policies_effective_at"))
    op.drop_table("privacy_policies")
