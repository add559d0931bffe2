"""Identity: user accounts — users and their roles, passwords, API tokens, administration and its log, and the
rate limits of sign-ins and look-ups. The `Actor` the engine checks is engine.workflow's (actors.py).
"""

from .rate_limits import RateLimit
from .user_admin import MAX_DISPLAY_NAME_LENGTH, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from .user_directory import TokenInfo, UserChange, UserDetails, UserInfo
from .users import add_user, check_password, create_token, hash_password, list_users

__all__ = [
    "MAX_DISPLAY_NAME_LENGTH",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "RateLimit",
    "TokenInfo",
    "UserChange",
    "UserDetails",
    "UserInfo",
    "add_user",
    "check_password",
    "create_token",
    "hash_password",
    "list_users",
]
