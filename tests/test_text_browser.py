"""In Chromium: text from a link never becomes a link or an image on the page (#25), though
Streamlit's Markdown autolinks bare addresses even in escaped text."""

from urllib.parse import urlencode

from tests.browser import main_area, open_app

# One hostile value per setting of the link, each shown back in a warning.
HOSTILE = {"act": "x` ![](https://evil.example/pixel.png) `", "init": "https://evil.example/login",
           "opt": "www.evil.example", "augment": "someone@evil.example", "hidden": "mailto:me@evil.example"}


def test_addresses_in_a_link_show_as_text_never_as_links_or_images(page, app_url):
    open_app(page, f"{app_url}/?{urlencode(HOSTILE)}")
    warnings = main_area(page).locator("[data-testid='stAlert']").filter(has_text="Ignored a setting in the link")
    shown = " ".join(warnings.all_inner_texts()).replace("\u2060", "")
    for key, value in HOSTILE.items():
        assert f"{key}={value}"[:40] in shown  # each one is shown, as typed
    links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    images = page.eval_on_selector_all("img[src]", "els => els.map(e => e.getAttribute('src'))")
    assert not [href for href in links if "evil" in href], links
    assert not [src for src in images if "evil" in src], images
