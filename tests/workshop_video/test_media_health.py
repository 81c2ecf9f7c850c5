"""The media server's health endpoint, for load balancers and the install check."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.workshop_video.test_rtc import Server


def test_media_server_healthz_answers_200_with_its_load(client):
    async def run():
        async with Server(client) as server, aiohttp.ClientSession() as http:
            async with http.get(server.url + "/healthz") as r:
                return r.status, await r.json(), r.headers.get("Set-Cookie")

    status, body, cookie = asyncio.run(run())
    assert status == 200
    assert body == {"cameras": 0, "viewers": 0}
    assert cookie is None
