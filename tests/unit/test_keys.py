"""Key layout: tenants never collide, ids never hold a delimiter, two files never share an import."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from listguard.domain import FlagStatus
from listguard.domain.keys import (
    InvalidKeyError,
    NotAnImportKeyError,
    check_account_id,
    flag_index_pk,
    flagged_by_index_pk,
    import_id_for,
    import_object_key,
    parse_import_key,
)


@pytest.mark.parametrize("account", ["acme", "acme-shoes", "a", "A_1", "x" * 64, "0day"])
def test_safe_account_ids_are_accepted(account: str) -> None:
    assert check_account_id(account) == account


@pytest.mark.parametrize(
    "account",
    ["", ".", "..", "a#b", "a/b", "-acme", "_acme", "north wind", "café", "x" * 65, "acme\n", "a.b"],
)
def test_other_account_ids_are_refused_with_the_rule(account: str) -> None:
    with pytest.raises(InvalidKeyError, match="letters, digits"):
        check_account_id(account)


@pytest.mark.parametrize(
    ("file_name", "import_id"),
    [
        ("list.csv", "list"),
        ("list.TXT", "list.TXT"),
        ("list.txt", "list.txt"),
        ("list.CSV", "list.CSV"),
        ("list.txt.csv", "list.txt.csv"),
        ("spring list+2024 – café.csv", "spring list+2024 – café"),
        ("v1.2.csv", "v1.2"),
    ],
)
def test_the_import_id_of_a_file(file_name: str, import_id: str) -> None:
    assert import_id_for(file_name) == import_id


def test_list_csv_and_list_txt_are_two_imports() -> None:
    assert import_id_for("list.csv") != import_id_for("list.TXT")


@pytest.mark.parametrize(
    "file_name", [".csv", "..csv", "...csv", " .csv", "a#b.csv", "a\\b.csv", "a\x00.csv"]
)
def test_unsafe_file_names_are_refused(file_name: str) -> None:
    with pytest.raises(InvalidKeyError):
        import_id_for(file_name)


def test_files_with_another_extension_are_not_imports() -> None:
    with pytest.raises(NotAnImportKeyError):
        import_id_for("list.xlsx")


_names = st.text(alphabet=st.sampled_from("ab.-_ #/xXtTcCsSvV"), min_size=1, max_size=12)
_extensions = st.sampled_from([".csv", ".CSV", ".txt", ".TXT", ".Csv", ".tXt"])


@given(_names, _extensions, _names, _extensions)
def test_two_file_names_never_share_an_import_id(name1: str, ext1: str, name2: str, ext2: str) -> None:
    first, second = name1 + ext1, name2 + ext2
    try:
        id1, id2 = import_id_for(first), import_id_for(second)
    except InvalidKeyError:
        return
    assert (id1 == id2) == (first == second)
    assert "#" not in id1 and "/" not in id1 and id1 not in {".", ".."}


def test_import_keys_name_the_account_and_the_import() -> None:
    ref = parse_import_key("imports/acme/leads 2026.csv")
    assert (ref.account, ref.import_id) == ("acme", "leads 2026")
    assert ref.summary_key == "reports/acme/leads 2026.json"
    assert ref.rows_report_key == "reports/acme/leads 2026.rows.csv"


@pytest.mark.parametrize(
    "key", ["imports/../x.csv", "imports/./x.csv", "imports/a#b/c.csv", "imports/north wind/x.csv"]
)
def test_an_unsafe_account_in_a_key_is_refused(key: str) -> None:
    with pytest.raises(InvalidKeyError) as raised:
        parse_import_key(key)
    assert not isinstance(raised.value, NotAnImportKeyError)


@pytest.mark.parametrize("key", ["imports/acme/old/list.csv", "reports/acme/x.csv", "imports/acme.csv"])
def test_keys_outside_the_layout_are_not_imports(key: str) -> None:
    with pytest.raises(NotAnImportKeyError):
        parse_import_key(key)


def test_index_keys_of_two_tenants_never_collide() -> None:
    # Account "a" with import "b#c" and account "a#b" with import "c" would have shared IMPORT#a#b#c:
    # neither id can exist any more.
    with pytest.raises(InvalidKeyError):
        import_id_for("b#c.csv")
    with pytest.raises(InvalidKeyError):
        check_account_id("a#b")
    assert flagged_by_index_pk("a", "b") != flagged_by_index_pk("ab", "")
    assert flag_index_pk("a", FlagStatus.DECLINED) == "ACCOUNT#a#FLAG#declined"


def test_the_console_builds_upload_keys_through_the_same_rules() -> None:
    assert import_object_key("acme", "leads.csv") == "imports/acme/leads.csv"
    with pytest.raises(InvalidKeyError):
        import_object_key("..", "leads.csv")
