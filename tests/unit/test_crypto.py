"""Personal data protection: field encryption, look-up hashes, payload protection."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet

from tasks.crypto import PersonalDataCipher, PersonalDataError, is_personal, normalize


@pytest.fixture
def cipher() -> PersonalDataCipher:
    return PersonalDataCipher(Fernet.generate_key())


def test_fields_round_trip_and_ciphertexts_differ_each_time(cipher: PersonalDataCipher) -> None:
    first, second = cipher.encrypt("13912345678"), cipher.encrypt("13912345678")
    assert first != second and b"13912345678" not in first
    assert cipher.decrypt(first) == cipher.decrypt(second) == "13912345678"


def test_another_key_cannot_read_the_data() -> None:
    token = PersonalDataCipher(Fernet.generate_key()).encrypt("x")
    with pytest.raises(PersonalDataError):
        PersonalDataCipher(Fernet.generate_key()).decrypt(token)


def test_lookup_hash_is_keyed_stable_and_ignores_case_and_spaces(cipher: PersonalDataCipher) -> None:
    assert cipher.lookup_hash("11010519491231002x") == cipher.lookup_hash(" 11010519491231002X ")
    assert cipher.lookup_hash("a") != PersonalDataCipher(Fernet.generate_key()).lookup_hash("a")
    assert normalize("６２２２ ０２") == "622202"


def test_state_is_sealed_with_its_own_key(cipher: PersonalDataCipher) -> None:
    sealed = cipher.seal(b'{"phone": "13912345678"}')
    assert b"13912345678" not in sealed and cipher.unseal(sealed) == b'{"phone": "13912345678"}'
    with pytest.raises(PersonalDataError):
        cipher.unseal(cipher.encrypt("field key is not the state key"))


def test_a_sealed_state_is_stored_as_raw_bytes_and_states_sealed_as_base64_before_still_open() -> None:
    key = Fernet.generate_key()
    cipher = PersonalDataCipher(key)
    state = b'{"tasks": "x"}' * 50
    sealed = cipher.seal(state)
    assert sealed[:1] == b"\x80" and cipher.unseal(sealed) == state
    old = base64.urlsafe_b64encode(sealed)  # how the state was stored before: the token as base64
    assert len(sealed) < 0.8 * len(old) and cipher.unseal(old) == state
    for damaged in (sealed[:-1] + bytes([sealed[-1] ^ 1]), b"\x80garbage", b"not a token"):
        with pytest.raises(PersonalDataError):
            cipher.unseal(damaged)


@pytest.mark.parametrize("field", ["id_number", "phone", "bank_account", "payee_account", "health_declaration",
                                   "claimant_id_number", "contact_phone", "refund_account"])
def test_personal_fields_are_recognised_by_name(field: str) -> None:
    assert is_personal(field)


@pytest.mark.parametrize("field", ["name", "amount", "account_type", "phone_verified", "policy_number"])
def test_other_fields_are_not_personal(field: str) -> None:
    assert not is_personal(field)


def test_payload_protection_encrypts_personal_text_anywhere_and_reveals_it(cipher: PersonalDataCipher) -> None:
    payload = {"data": {"id_number": "11010519491231002X", "amount": 5, "shared_account": True,
                        "people": [{"phone": "13912345678"}], "payee_account": None},
               "cancellation": {"payee_account": "6222020200112233445"}}
    protected = cipher.protect("task_completed", payload)
    text = repr(protected)
    for secret in ("11010519491231002X", "13912345678", "6222020200112233445"):
        assert secret not in text
    assert protected["data"]["amount"] == 5 and protected["data"]["shared_account"] is True
    assert protected["data"]["payee_account"] is None
    assert cipher.reveal("task_completed", protected) == payload
    assert cipher.protect("x", protected) == protected  # protecting twice changes nothing


def test_a_file_is_encrypted_raw_and_only_the_fields_key_opens_it(cipher: PersonalDataCipher) -> None:
    content = b"%PDF-1.7\n" + bytes(range(256)) * 40
    sealed = cipher.encrypt_bytes(content)
    assert content[9:300] not in sealed and len(sealed) < len(content) + 100  # no base64 blow-up
    assert cipher.decrypt_bytes(sealed) == content
    with pytest.raises(PersonalDataError):
        PersonalDataCipher(Fernet.generate_key()).decrypt_bytes(sealed)
