"""The original design's README user (issue 12): its register and login bodies, byte for byte."""

from __future__ import annotations

ORIGINAL_REGISTER = {
    "username": "johndoe",
    "email": "john@example.com",
    "password": "securepassword123",
    "full_name": "John Doe",
}
ORIGINAL_LOGIN = {"username": "johndoe", "password": "securepassword123"}
