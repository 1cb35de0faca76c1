"""GraphiQL works offline: its page and assets come from the API itself, checked in Debian's
chromium with every request to another host aborted."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import replace
from urllib.parse import quote, urlsplit

from playwright.async_api import Browser, Route

from seatbill.graphql_http import GRAPHIQL_ASSETS
from tests.conftest import Api, Stack, serve
from tests.emulator.test_pages import browser

__all__ = ["browser"]  # Debian's chromium, launched as the emulator's page tests launch it


async def test_graphiql_runs_a_query_with_other_hosts_unreachable(
    api: Api, browser: Browser
) -> None:
    elsewhere: list[str] = []

    async def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname in {"127.0.0.1", "localhost"}:
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort()

    page = await browser.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    try:
        await page.route("**/*", only_loopback)
        await page.goto(f"{api.url}/graphql?q={quote('{ plans { id } }')}")
        # The editor rendered (React, GraphiQL and CodeMirror loaded) with the query in it.
        editor = page.locator(".graphiql-query-editor .CodeMirror")
        await editor.wait_for(timeout=30_000)
        assert "plans" in (await editor.inner_text())
        await page.click(".graphiql-execute-button")
        result = page.locator(".result-window")
        await page.wait_for_function(
            "() => document.querySelector('.result-window')?.innerText.includes('starter')",
            timeout=30_000,
        )
        text = await result.inner_text()
        assert '"pro"' in text and '"team"' in text
    finally:
        await page.close()
    assert elsewhere == []
    assert [url for url in failed if "/graphql/assets/" in url] == []


async def test_the_page_loads_only_its_own_pinned_assets(api: Api) -> None:
    page = await api.http.get(f"{api.url}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "<title>Seatbill GraphiQL</title>" in page.text
    assert "unpkg" not in page.text
    refs = re.findall(r'(?:src|href)="([^"]+)"\s+integrity="([^"]+)"', page.text)
    assert len(refs) == 7
    for url, integrity in refs:
        assert url.startswith("/graphql/assets/"), url
        asset = await api.http.get(f"{api.url}{url}")
        assert asset.status_code == 200, url
        digest = base64.b64encode(hashlib.sha384(asset.content).digest()).decode()
        assert integrity == f"sha384-{digest}", url  # the bytes strawberry's page pins
        local = GRAPHIQL_ASSETS / url.removeprefix("/graphql/assets/")
        assert local.read_bytes() == asset.content


async def test_graphiql_off_serves_neither_page_nor_assets(api: Api, stack: Stack) -> None:
    settings = replace(stack.settings, graphiql=False)
    async with serve(settings, manage_orm=False) as url:
        page = await api.http.get(f"{url}/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 404
        asset = await api.http.get(f"{url}/graphql/assets/react-18.2.0/react.production.min.js")
        assert asset.status_code == 404
        # The API itself still answers.
        response = await api.http.post(f"{url}/graphql", json={"query": "{ plans { id } }"})
        assert response.status_code == 200
