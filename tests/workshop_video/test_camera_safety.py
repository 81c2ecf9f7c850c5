"""Camera credentials stay with their camera; checks reach only camera networks and say one
thing when they fail."""

from __future__ import annotations

import base64
import ipaddress
import re
import socket
import threading

import pytest

from workshop_video import devices, probe
from workshop_video.models import Camera
from workshop_video.sources import (
    CredentialsNeeded,
    allowed_target,
    mask_source,
    merge_source,
    parse_networks,
)

SECRET_URL = "rtsp://admin:Pa55word@127.0.0.1:9/Streaming/Channels/101"
STOLEN = base64.b64encode(b"admin:Pa55word")
PRIVATE = parse_networks("10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,127.0.0.0/8,::1/128")


class RtspTrap:
    """A TCP server on loopback that answers every RTSP request 401 (Basic) and keeps what
    it was sent: a password sent to it shows up as its Base64 in an Authorization header."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                self._answer(conn)

    def _answer(self, conn):
        buffer = b""
        while True:
            try:
                chunk = conn.recv(4096)
            except OSError:
                return
            if not chunk:
                return
            self.received += chunk
            buffer += chunk
            while b"\r\n\r\n" in buffer:
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                cseq = next(
                    (ln.split(b":", 1)[1].strip() for ln in head.split(b"\r\n")
                     if ln.lower().startswith(b"cseq")), b"1",
                )  # fmt: skip
                conn.sendall(
                    b"RTSP/1.0 401 Unauthorized\r\nCSeq: " + cseq + b"\r\n"
                    b'WWW-Authenticate: Basic realm="trap"\r\nContent-Length: 0\r\n\r\n'
                )

    def close(self):
        self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.sock.close()
        self.thread.join(5)


@pytest.fixture
def trap():
    server = RtspTrap()
    yield server
    server.close()


# ---------------------------------------------------------------- the stored password stays


@pytest.mark.parametrize(
    "moved",
    [
        "rtsp://admin:***@10.1.1.8:9/Streaming/Channels/101",  # host
        "rtsp://admin:***@127.0.0.1:8554/Streaming/Channels/101",  # port
        "rtsps://admin:***@127.0.0.1:9/Streaming/Channels/101",  # scheme
        "rtsp://admin:***@127.0.0.1:x/Streaming/Channels/101",  # no port at all
    ],
    ids=["host", "port", "scheme", "bad-port"],
)
def test_a_moved_address_needs_the_password_typed_again(moved):
    with pytest.raises(CredentialsNeeded):
        merge_source(SECRET_URL, moved)


def test_the_same_address_keeps_the_password():
    stored = "rtsp://admin:Pa55word@cam.local/1"
    assert merge_source(stored, "RTSP://admin:***@CAM.local:554/2") == (
        "rtsp://admin:Pa55word@CAM.local:554/2"
    )
    assert merge_source(SECRET_URL, "rtsp://admin:typed@10.1.1.8/1") == (
        "rtsp://admin:typed@10.1.1.8/1"
    )


def test_the_edit_form_refuses_to_move_the_password(job, auth, client, db, f, trap):
    store, *_rest = job
    cam = Camera(store_id=store.id, bay=2, name="Gate", source=SECRET_URL)
    db.session.add(cam)
    db.session.commit()
    auth.login(f.manager(store))
    moved = mask_source(SECRET_URL).replace("127.0.0.1:9", f"127.0.0.1:{trap.port}")
    data = {"name": "Gate", "bay": "2", "source": moved, "is_active": "y"}
    page = client.post(f"/admin/cameras/edit/?id={cam.id}", data=data)
    assert page.status_code == 200
    assert "type the camera&#39;s password again" in page.get_data(as_text=True)
    db.session.refresh(cam)
    assert cam.source == SECRET_URL
    # The Check button then still goes to the stored address: the trap hears nothing.
    assert client.post(f"/admin/video_devices/cameras/{cam.id}/check").status_code == 303
    assert trap.connections == 0 and STOLEN not in trap.received
    # Typing a password for the new address works, and the check does reach it.
    data["source"] = f"rtsp://admin:typed@127.0.0.1:{trap.port}/1"
    assert client.post(f"/admin/cameras/edit/?id={cam.id}", data=data).status_code == 302
    client.post(f"/admin/video_devices/cameras/{cam.id}/check")
    assert trap.connections >= 1 and base64.b64encode(b"admin:typed") in trap.received
    assert STOLEN not in trap.received


@pytest.mark.parametrize(
    "source", ["http://10.0.0.5/cam.mjpg", "file:/etc/passwd", "tcp://127.0.0.1:22"]
)
def test_a_camera_source_is_an_rtsp_address_or_the_demo_clip(job, auth, client, db, f, source):
    store, *_rest = job
    auth.login(f.manager(store))
    data = {"name": "New", "bay": "3", "source": source, "is_active": "y"}
    page = client.post("/admin/cameras/new/", data=data)
    assert "Give an rtsp:// or rtsps:// address" in page.get_data(as_text=True)
    assert db.session.scalar(db.select(Camera).where(Camera.name == "New")) is None


# ---------------------------------------------------------------- where checks may go


def test_checks_go_only_to_rtsp_on_camera_networks(tmp_path):
    assert allowed_target("rtsp://u:p@10.2.3.4/1", PRIVATE, None) == "rtsp://u:p@10.2.3.4/1"
    assert allowed_target("rtsps://192.168.1.9:7441/x", PRIVATE, None) == (
        "rtsps://192.168.1.9:7441/x"
    )
    assert allowed_target("rtsp://[::1]:8554/x", PRIVATE, None) == "rtsp://[::1]:8554/x"
    # A name is resolved once and the check opens the address that was checked.
    assert allowed_target("rtsp://u:p@localhost:8554/x", PRIVATE, None) in {
        "rtsp://u:p@127.0.0.1:8554/x",
        "rtsp://u:p@[::1]:8554/x",
    }
    for refused in [
        "rtsp://8.8.8.8/1",  # a public address
        "rtsp://169.254.169.254/latest/meta-data",  # link-local: cloud metadata
        "http://10.2.3.4/1",
        "ftp://10.2.3.4/1",
        "rtsp://no-such-host.invalid/1",
        "rtsp:///1",
        f"file:{tmp_path}/../x.ts",
    ]:
        assert allowed_target(refused, PRIVATE, tmp_path) is None, refused
    clip = tmp_path / "bay.ts"
    assert allowed_target(f"file:{clip}", PRIVATE, tmp_path) == f"file:{clip}"
    assert allowed_target(f"file:{clip}", PRIVATE, None) is None


def test_the_networks_are_a_setting(make_app):
    app = make_app(CAMERA_ALLOWED_NETWORKS="192.168.7.0/24")
    networks = parse_networks(app.config["CAMERA_ALLOWED_NETWORKS"])
    assert networks == [ipaddress.ip_network("192.168.7.0/24")]
    assert allowed_target("rtsp://192.168.7.20/1", networks, None)
    assert allowed_target("rtsp://127.0.0.1/1", networks, None) is None
    with pytest.raises(RuntimeError, match="not a CIDR network"):
        make_app(CAMERA_ALLOWED_NETWORKS="10.0.0.0/8,intranet")


def test_a_check_off_the_camera_networks_opens_nothing(job, db, trap, app, monkeypatch):
    store, *_rest = job
    monkeypatch.setitem(app.config, "CAMERA_ALLOWED_NETWORKS", "10.0.0.0/8")
    cam = Camera(store_id=store.id, name="Out", source=f"rtsp://u:p@127.0.0.1:{trap.port}/1")
    db.session.add(cam)
    db.session.flush()
    result = devices.check_camera(cam, frame=True)
    assert (result.ok, result.error, cam.status) == (False, probe.NOT_ALLOWED, "offline")
    assert trap.connections == 0
    assert devices.error_text(cam.last_error) == "this address is not on the camera networks"


# ---------------------------------------------------------------- one answer for every failure


def test_every_failure_reads_the_same(job, db, trap, clip, auth, client, f):
    store, *_rest = job
    not_video = clip.parent / "notes.ts"
    not_video.write_bytes(b"this is no video at all\n" * 100)
    refused = socket.create_server(("127.0.0.1", 0))
    port = refused.getsockname()[1]
    refused.close()  # nothing listens there now: "Connection refused"
    sources = {
        "refused": f"rtsp://127.0.0.1:{port}/1",
        "unauthorised": f"rtsp://u:p@127.0.0.1:{trap.port}/1",
        "not-video": f"file:{not_video}",
        "missing-file": f"file:{clip.parent / 'missing.ts'}",
    }
    cams = {}
    for bay, (name, source) in enumerate(sources.items(), start=2):
        cams[name] = Camera(store_id=store.id, bay=bay, name=f"Cam {bay}", source=source)
        db.session.add(cams[name])
    db.session.commit()
    auth.login(f.manager(store))
    pages = set()
    for name, cam in cams.items():
        page = client.post(f"/admin/video_devices/cameras/{cam.id}/test").get_data(as_text=True)
        error = page.split('id="camera-frame-error">', 1)[1].split("<", 1)[0]
        pages.add(error)
        db.session.refresh(cam)
        assert (cam.status, cam.last_error) == ("offline", probe.NO_ANSWER), name
    assert pages == {"No frame: the camera did not answer"}
    listing = client.get(f"/admin/video_devices/?store={store.id}").get_data(as_text=True)
    assert listing.count("the camera did not answer") == len(cams)
    # The listing shows each camera's address, whose random port may contain "401": look for
    # the oracles in the page with the addresses' ports masked, and for "401" as a word.
    shown = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", listing) + "".join(pages)
    for oracle in ("refused", "Invalid data", "No such file", "Unauthorized"):
        assert oracle not in shown
    assert not re.search(r"\b401\b", shown)
