"""Issue 24 in Chromium: a teacher builds an exercise on the Exercise page (hide Learning rate, lock
Hidden units, target 90%) and its link, opened in a fresh session, shows the instructions as typed,
no Learning rate control, Hidden units disabled at its value, and after a default Train "Goal
reached"; the same exercise at 99.9% (and one epoch, to keep it short) says how far the run is from it.
A page the exercise hides is neither in the sidebar nor reachable by its address. One test: each
fresh session costs a page load."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

from playwright.sync_api import expect

from tests.browser import (exceptions, go_to, main_area, new_page, open_app, open_list, press, run_ended, wait_idle,
                           wait_until)

TRAINING_TIMEOUT_S = 120  # a default run takes ~4 s alone; the machine is shared
INSTRUCTIONS = "Reach 90% without the learning rate.\n**Not bold**, <b>not HTML</b>, https://not.a.link"


def banner_texts(page) -> list[str]:
    return main_area(page).locator(".st-key-exercise_banner [data-testid='stText']").all_inner_texts()


def select(page, label: str, option: str) -> None:
    """Pick ``option`` in the main area's multiselect ``label``."""
    box = main_area(page).locator("[data-testid='stMultiSelect']").filter(has_text=label)
    choice = page.get_by_role("option", name=option).first
    open_list(page, box.locator("input"), choice, 10_000)  # the rerun after the last pick can close it
    choice.click()
    page.keyboard.press("Escape")
    wait_idle(page)


def slider(page, label: str):
    return main_area(page).locator("[data-testid='stSlider']").filter(
        has=page.locator("[data-testid='stWidgetLabel']", has_text=re.compile(f"^{re.escape(label)}$")))


def train_to_the_verdict(page) -> str:
    press(page, "Train")
    assert wait_until(lambda: run_ended(page), TRAINING_TIMEOUT_S), main_area(page).inner_text()[-1500:]
    verdict = main_area(page).locator("[data-testid='stAlert']").filter(has_text=re.compile("Goal reached|Not reached"))
    expect(verdict).to_have_count(1, timeout=30_000)
    return verdict.inner_text()


def test_an_exercise_built_then_opened(browser, page, app_url):
    expect.set_options(timeout=30_000)  # each check waits for its page's rerun, slow on a loaded machine
    page.goto(f"{app_url}/exercise")  # straight to the page (Train's charts not drawn first)
    main = main_area(page)
    main.get_by_role("heading", name="Exercise", exact=True).wait_for(timeout=120_000)
    wait_idle(page)
    main.get_by_role("textbox", name="Title").fill("Lesson 1")
    main.get_by_role("textbox", name="Title").press("Enter")
    main.get_by_role("textbox", name="Instructions").fill(INSTRUCTIONS)
    main.get_by_role("textbox", name="Title").click()  # a text area's value is sent when it loses the focus
    wait_idle(page)
    select(page, "Hide", "Learning rate")
    select(page, "Lock", "Hidden units (64)")
    target = main.get_by_role("spinbutton", name="Target test accuracy (%)")
    target.fill("90")
    target.press("Enter")
    wait_idle(page)
    code = main.locator("[data-testid='stCode'] code").first
    expect(code).to_contain_text("ex_lock=hidden%3A64")
    link = code.inner_text().strip()
    params = dict(parse_qsl(urlsplit(link).query))
    assert params["ex_hide"] == "lr" and params["ex_target"] == "90" and params["ex_text"] == INSTRUCTIONS
    assert link.startswith(app_url)
    assert exceptions(page) == []

    context, student = new_page(browser)  # a fresh session, as a student's
    try:
        open_app(student, link)
        student_main = main_area(student)
        assert banner_texts(student) == ["Exercise: Lesson 1", INSTRUCTIONS]  # as typed
        expect(student_main.get_by_text("Goal: test accuracy of at least 90%.")).to_be_visible()
        expect(slider(student, "Learning rate")).to_have_count(0)
        expect(slider(student, "Momentum (beta)")).to_have_count(1)  # the others are there
        hidden_units = slider(student, "Hidden units")
        expect(hidden_units.get_by_role("slider")).to_have_attribute("aria-valuetext", "64")
        expect(hidden_units.get_by_role("slider")).to_be_disabled()
        expect(student_main.get_by_text("The exercise fixes Hidden units (64).")).to_be_visible()
        assert student_main.locator("a[href*='not.a.link']").count() == 0
        verdict = train_to_the_verdict(student)  # the default run
        assert verdict.startswith("Goal reached: 97.") and "the target was 90%" in verdict, verdict
        go_to(student, "Exercise")  # on every page (this one draws fast)
        assert banner_texts(student) == ["Exercise: Lesson 1", INSTRUCTIONS]
        assert exceptions(student) == []
    finally:
        context.close()

    # The same exercise at 99.9% (one epoch: how far is the point, not the run), opened at the address of a
    # page it also hides: that page is neither in the sidebar nor reachable, the link leads to Train.
    harder = urlsplit(link)._replace(path=urlsplit(link).path + "sweep", query=urlencode(
        {**params, "ex_target": "99.9", "epochs": "1", "ex_hide_page": "sweep,inside"})).geturl()
    context, student = new_page(browser)
    try:
        open_app(student, harder)
        dialog = student.get_by_role("dialog")
        expect(dialog).to_contain_text("Page not found")  # Streamlit's own, over Train
        student.keyboard.press("Escape")
        expect(dialog).to_have_count(0)
        expect(main_area(student).get_by_role("heading", name="Train")).to_be_visible()
        links = student.locator("[data-testid='stSidebarNav'] a").all_inner_texts()
        assert any("Evaluate" in text for text in links) and not any("Sweep" in text or "Inside" in text
                                                                      for text in links), links
        verdict = train_to_the_verdict(student)
        match = re.fullmatch(r"Not reached yet: (\d+\.\d\d)% test accuracy is (\d+\.\d\d) percentage points below "
                             r"the target of 99\.9%\.", verdict.strip())
        assert match, verdict
        assert abs(float(match[1]) + float(match[2]) - 99.9) < 0.006
        assert exceptions(student) == []
    finally:
        context.close()
