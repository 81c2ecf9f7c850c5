"""image_access: find the booking a photo belongs to by the image id (the media access check)

Revision ID: 0013_image_access
Revises: 0010_video_devices
Create Date: 2026-12-03 05:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013_image_access'
down_revision = '0012_channels'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('booking_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_photos_image_id'), ['image_id'], unique=False)


def downgrade():
    with op.batch_alter_table('booking_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_photos_image_id'))
