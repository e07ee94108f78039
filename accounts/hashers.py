from django.contrib.auth.hashers import BCryptSHA256PasswordHasher


class FastBCryptSHA256PasswordHasher(BCryptSHA256PasswordHasher):
    """bcrypt over SHA-256 with the minimum cost, for tests only (same algorithm name, so hashes interoperate)."""

    rounds = 4
