"""Password rules (issue 8 §5). Pure: the caller says whose password it is.

Length is what protects a password against guessing, not character classes (NIST SP 800-63B §5.1.1.2:
at least 8, and check against lists of common or compromised passwords; Tollbook asks for more
because staff logins reach every member's bank account). Members (組合員) only see their own
invoices, so their minimum is lower.
"""
import unicodedata

STAFF_MIN_LENGTH = 12
MEMBER_MIN_LENGTH = 10

# Passwords long enough to pass the length rule that are still among the first guesses of every
# cracking list (keyboard walks, counting, "password" variants), plus Tollbook's own published ones.
COMMON_PASSWORDS = frozenset("""
1234567890 12345678901 123456789012 1234567890123 0123456789 0987654321 9876543210 1111111111
1q2w3e4r5t 1q2w3e4r5t6y 1qaz2wsx3edc q1w2e3r4t5 q1w2e3r4t5y6 qwertyuiop qwertyuiop12 qwerty123456
qwerty12345 asdfghjkl1 asdfghjkl123 zxcvbnm123 zaq12wsxcde 1qazxsw23edc abcdefghij abcdefghijkl
abc1234567 abc123456789 abcd123456 abcd12345678 a1b2c3d4e5 password12 password123 password1234
password12345 password123456 passw0rd12 passw0rd123 p@ssw0rd12 p@ssw0rd123 p@ssword123 passwordpassword
iloveyou123 iloveyou1234 welcome123 welcome1234 letmein123 administrator admin12345 admin123456
administrator1 changeme123 changeme1234 sunshine123 princess123 football123 baseball123 dragon1234
monkey123456 superman123 trustno1234 qazwsxedcrfv 1234qwerasdf 1234qwer1234 qwer1234asdf pasuwa-do
pasuwaado123 nihongo1234 tokyo123456 tollbook123 tollbook1234 tollbook-demo tollbookadmin
""".split())


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def password_problems(password: str, login_id: str | None, *, member: bool, same_as_initial: bool = False) -> list[str]:
    """Japanese reasons why `password` may not be set for the login `login_id`; empty when it may.
    `same_as_initial`: the password is the initial one printed on the member's letter (the caller checks
    it against the stored hash)."""
    problems = []
    minimum = MEMBER_MIN_LENGTH if member else STAFF_MIN_LENGTH
    if len(password) < minimum:
        problems.append(f"パスワードは{minimum}文字以上にしてください（入力は{len(password)}文字）。")
    folded = _folded(password)
    if login_id and folded == _folded(login_id):
        problems.append("ログインIDと同じパスワードは使えません。")
    if same_as_initial:
        problems.append("お送りした初期パスワードと同じパスワードは使えません。")
    if folded in COMMON_PASSWORDS or len(set(folded)) <= 2:
        problems.append("よく使われるパスワードや同じ文字の繰り返しは使えません。推測されにくいものにしてください。")
    return problems
