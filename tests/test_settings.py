"""Settings from the environment and .env: malformed values become one message naming the variable."""

from __future__ import annotations

import pytest

from kamerbron.errors import SettingsInvalidError
from kamerbron.settings import ENV_FILE_VARIABLE, load_settings


def _message(monkeypatch, name: str, value: str) -> str:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsInvalidError) as error:
        load_settings()
    return str(error.value)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("KAMERBRON_APP_PORT", "abc", "KAMERBRON_APP_PORT must be a whole number, got 'abc'"),
        ("KAMERBRON_LLM_TIMEOUT_S", "snel", "KAMERBRON_LLM_TIMEOUT_S must be a number, got 'snel'"),
        ("KAMERBRON_CHROMA_SSL", "misschien", "KAMERBRON_CHROMA_SSL must be true or false, got 'misschien'"),
        ("KAMERBRON_RETRIEVAL_TOP_K", "0", "KAMERBRON_RETRIEVAL_TOP_K must be at least 1, got '0'"),
        (
            "KAMERBRON_RETRIEVAL_MODE",
            "alles",
            "KAMERBRON_RETRIEVAL_MODE must be one of 'hybrid', 'dense' or 'bm25', got 'alles'",
        ),
        ("KAMERBRON_APP_ALLOWED_ORIGINS", "https://intranet", "KAMERBRON_APP_ALLOWED_ORIGINS must be valid JSON"),
        ("KAMERBRON_APP_PROT", "7860", "KAMERBRON_APP_PROT is not a Kamerbron setting"),
    ],
)
def test_malformed_value_names_the_variable_and_the_form(monkeypatch, name, value, expected):
    assert expected in _message(monkeypatch, name, value)


def test_settings_error_has_its_own_exit_code():
    assert SettingsInvalidError.exit_code == 8


def test_secret_value_is_not_repeated(monkeypatch):
    monkeypatch.setenv("KAMERBRON_LLM_API_KEY", "sk-geheim-123")
    with pytest.raises(SettingsInvalidError) as error:
        load_settings(llm={"api_key": 12345, "timeout_s": "nooit"})
    assert "12345" not in str(error.value) and "KAMERBRON_LLM_API_KEY" in str(error.value)


def test_every_bad_variable_is_named(monkeypatch):
    monkeypatch.setenv("KAMERBRON_APP_PORT", "abc")
    message = _message(monkeypatch, "KAMERBRON_APP_CONCURRENCY", "veel")
    assert "KAMERBRON_APP_PORT" in message and "KAMERBRON_APP_CONCURRENCY" in message


def test_dotenv_in_the_working_directory_is_ignored_under_tests(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("KAMERBRON_APP_PORT=abc\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_settings().app.port == 7860


def test_dotenv_in_the_working_directory_is_read_outside_tests(tmp_path, monkeypatch):
    # what a developer's shell has: no KAMERBRON_ENV_FILE, so ./.env counts (and here is malformed)
    (tmp_path / ".env").write_text("KAMERBRON_APP_PORT=abc\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_FILE_VARIABLE)
    with pytest.raises(SettingsInvalidError, match="KAMERBRON_APP_PORT must be a whole number, got 'abc'"):
        load_settings()


def test_env_file_variable_names_the_file_to_read(tmp_path, monkeypatch):
    env_file = tmp_path / "kamerbron.env"
    env_file.write_text("KAMERBRON_APP_PORT=8123\n", encoding="utf-8")
    monkeypatch.setenv(ENV_FILE_VARIABLE, str(env_file))
    assert load_settings().app.port == 8123


def test_unknown_name_in_dotenv_is_named(tmp_path, monkeypatch):
    env_file = tmp_path / "kamerbron.env"
    env_file.write_text("KAMERBRON_POORT=8123\n", encoding="utf-8")
    monkeypatch.setenv(ENV_FILE_VARIABLE, str(env_file))
    with pytest.raises(SettingsInvalidError, match=r"KAMERBRON_POORT in \S+kamerbron\.env is not a Kamerbron setting"):
        load_settings()
