#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brainstorm/auth.h"
#include "brainstorm/validate.h"

#define USER	"6f1c2a52-2b6e-4d55-9c1e-0d2f7a3b9e11"
#define SESSION	"0b6b8a1e-1111-4000-8000-000000000001"
#define SECRET	"Hk2V9q_Lm3xT7pWz0Rb5Nc8Yf1Ds4Ga6Je"

static struct bs_config	 cfg;

static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.jwt_secret = (char *)SECRET;
	cfg.jwt_refresh_secret = (char *)"Zq8v3LmN0pRt6YwK2sXe9HbJ4cUf7GiA1dOk";
}

static void
b64url(const char *in, size_t len, char *out, size_t outlen)
{
	sodium_bin2base64(out, outlen, (const unsigned char *)in, len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* header.payload.signature, signed HS256 with key (NULL: no signature). */
static char *
forge(const char *header, const char *payload, const char *key)
{
	static char	 token[4096];
	char		 h[1024], p[2048], s[128];
	unsigned char	 mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;

	b64url(header, strlen(header), h, sizeof(h));
	b64url(payload, strlen(payload), p, sizeof(p));
	snprintf(token, sizeof(token), "%s.%s", h, p);
	s[0] = '\0';
	if (key != NULL) {
		crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)token,
		    strlen(token));
		crypto_auth_hmacsha256_final(&st, mac);
		b64url((const char *)mac, sizeof(mac), s, sizeof(s));
	}
	strcat(token, ".");
	strcat(token, s);
	return token;
}

static char *
claims(long iat_off, long exp_off, const char *extra)
{
	static char	 buf[1024];
	long		 now = (long)time(NULL);

	snprintf(buf, sizeof(buf), "{\"sub\":\"" USER "\",\"iss\":\"brainstorm\","
	    "\"aud\":\"brainstorm-api\",\"jti\":\"x\",\"sid\":\"" SESSION "\","
	    "\"iat\":%ld,\"exp\":%ld%s}",
	    now + iat_off, now + exp_off, extra);
	return buf;
}

static bs_err
verify(const char *token)
{
	char	 user[AUTH_UUID_LEN], session[AUTH_UUID_LEN];

	return auth_access_verify(&cfg, token, user, session);
}

START_TEST(test_issue_and_verify)
{
	char	*token = NULL, user[AUTH_UUID_LEN], session[AUTH_UUID_LEN];

	ck_assert_int_eq(auth_access_issue(&cfg, USER, SESSION, &token), BS_OK);
	ck_assert_int_eq(auth_access_verify(&cfg, token, user, session), BS_OK);
	ck_assert_str_eq(user, USER);
	ck_assert_str_eq(session, SESSION);
	free(token);
}
END_TEST

START_TEST(test_forged_valid_token_accepted)
{
	/* The forging helper is right: a proper token passes. */
	ck_assert_int_eq(verify(forge("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
	    claims(0, 600, ""), SECRET)), BS_OK);
	/* Other spellings of an acceptable header than the issued one (whose
	 * bytes are accepted without decoding them) are read. */
	ck_assert_int_eq(verify(forge("{\"typ\":\"JWT\",\"alg\":\"HS256\"}",
	    claims(0, 600, ""), SECRET)), BS_OK);
	ck_assert_int_eq(verify(forge("{\"alg\":\"HS256\"}",
	    claims(0, 600, ""), SECRET)), BS_OK);
	ck_assert_int_ne(verify(forge("{\"alg\":\"HS256\",\"typ\":\"JWT\","
	    "\"kid\":\"x\"}", claims(0, 600, ""), SECRET)), BS_OK);
}
END_TEST

START_TEST(test_attacks_refused)
{
	const char *hs = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	char	*t, copy[4096];

	ck_assert_int_ne(verify(forge("{\"alg\":\"none\",\"typ\":\"JWT\"}",
	    claims(0, 600, ""), NULL)), BS_OK);
	ck_assert_int_ne(verify(forge("{\"alg\":\"none\"}", claims(0, 600, ""),
	    SECRET)), BS_OK);
	ck_assert_int_ne(verify(forge(hs, claims(0, 600, ""),
	    "another-key-another-key-another-key")), BS_OK);
	ck_assert_int_ne(verify(forge("{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
	    claims(0, 600, ""), SECRET)), BS_OK);
	ck_assert_int_ne(verify(forge("{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
	    claims(0, 600, ""), SECRET)), BS_OK);
	/* expired, not yet valid, issued in the future, too long a life */
	ck_assert_int_ne(verify(forge(hs, claims(-1000, -10, ""), SECRET)), BS_OK);
	ck_assert_int_ne(verify(forge(hs, claims(0, 600,
	    ",\"nbf\":9999999999"), SECRET)), BS_OK);
	ck_assert_int_ne(verify(forge(hs, claims(3600, 3700, ""), SECRET)), BS_OK);
	ck_assert_int_ne(verify(forge(hs, claims(0, 86400, ""), SECRET)), BS_OK);
	/* no session, or a malformed one */
	snprintf(copy, sizeof(copy), "{\"sub\":\"" USER "\",\"iss\":\"brainstorm\","
	    "\"aud\":\"brainstorm-api\",\"iat\":%ld,\"exp\":%ld%s}",
	    (long)time(NULL), (long)time(NULL) + 600, "");
	ck_assert_int_ne(verify(forge(hs, copy, SECRET)), BS_OK);
	snprintf(copy, sizeof(copy), "{\"sub\":\"" USER "\",\"iss\":\"brainstorm\","
	    "\"aud\":\"brainstorm-api\",\"iat\":%ld,\"exp\":%ld%s}",
	    (long)time(NULL), (long)time(NULL) + 600, ",\"sid\":\"x\"");
	ck_assert_int_ne(verify(forge(hs, copy, SECRET)), BS_OK);
	snprintf(copy, sizeof(copy), "{\"sub\":\"" USER "\",\"iss\":\"brainstorm\","
	    "\"aud\":\"brainstorm-api\",\"iat\":%ld,\"exp\":%ld%s}",
	    (long)time(NULL), (long)time(NULL) + 600, ",\"sid\":\"" SESSION "\"");
	ck_assert_int_eq(verify(forge(hs, copy, SECRET)), BS_OK);
	/* wrong audience / issuer / subject */
	ck_assert_int_ne(verify(forge(hs, "{\"sub\":\"" USER "\",\"iss\":\"brainstorm\","
	    "\"aud\":\"other\",\"iat\":1,\"exp\":9999999999}", SECRET)), BS_OK);
	ck_assert_int_ne(verify(forge(hs, "{\"sub\":\"not-a-uuid\",\"iss\":\"brainstorm\","
	    "\"aud\":\"brainstorm-api\",\"iat\":1,\"exp\":9999999999}", SECRET)), BS_OK);
	/* tampered payload: valid signature of another payload */
	t = forge(hs, claims(0, 600, ""), SECRET);
	snprintf(copy, sizeof(copy), "%s", t);
	copy[strchr(copy, '.') - copy + 5] ^= 1;
	ck_assert_int_ne(verify(copy), BS_OK);
	/* truncated, garbage, empty pieces */
	t = forge(hs, claims(0, 600, ""), SECRET);
	snprintf(copy, sizeof(copy), "%s", t);
	copy[strlen(copy) - 3] = '\0';
	ck_assert_int_ne(verify(copy), BS_OK);
	ck_assert_int_ne(verify("garbage"), BS_OK);
	ck_assert_int_ne(verify("a.b.c"), BS_OK);
	ck_assert_int_ne(verify(".."), BS_OK);
	ck_assert_int_ne(verify(""), BS_OK);
	ck_assert_int_ne(verify(NULL), BS_OK);
}
END_TEST

START_TEST(test_password_hash_verify)
{
	char	 hash[AUTH_PASSWORD_HASH_LEN];

	ck_assert_int_eq(auth_init(), BS_OK);
	ck_assert_int_eq(auth_password_hash("correct horse battery", hash), BS_OK);
	ck_assert_ptr_nonnull(strstr(hash, "$argon2id$"));
	ck_assert(auth_password_verify(hash, "correct horse battery"));
	ck_assert(!auth_password_verify(hash, "correct horse batterY"));
	ck_assert(!auth_password_verify(NULL, "correct horse battery"));
}
END_TEST

START_TEST(test_refresh_tokens)
{
	char	 t1[AUTH_REFRESH_LEN], h1[AUTH_HASH_HEX_LEN];
	char	 t2[AUTH_REFRESH_LEN], h2[AUTH_HASH_HEX_LEN], again[AUTH_HASH_HEX_LEN];

	auth_refresh_new(&cfg, t1, h1);
	auth_refresh_new(&cfg, t2, h2);
	ck_assert_uint_eq(strlen(t1), 43);
	ck_assert_uint_eq(strlen(h1), 64);
	ck_assert_str_ne(t1, t2);
	ck_assert_str_ne(h1, h2);
	ck_assert_int_eq(auth_refresh_hash(&cfg, t1, again), BS_OK);
	ck_assert_str_eq(again, h1);
	ck_assert_ptr_null(strstr(h1, t1));
	ck_assert_int_ne(auth_refresh_hash(&cfg, "", again), BS_OK);
}
END_TEST

START_TEST(test_email_normalize)
{
	char	 out[EMAIL_MAX_LEN + 1];

	ck_assert(email_normalize("  Ada.Lovelace@Example.COM ", out));
	ck_assert_str_eq(out, "ada.lovelace@example.com");
	ck_assert(!email_normalize("no-at-sign", out));
	ck_assert(!email_normalize("a@b", out));
	ck_assert(!email_normalize("a@@b.c", out));
	ck_assert(!email_normalize("@b.c", out));
	ck_assert(!email_normalize("a b@c.d", out));
	ck_assert(!email_normalize("a@b.c.", out));
	ck_assert(!email_normalize("a@.bc", out));
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite	*s = suite_create("auth");
	TCase	*tc = tcase_create("tokens");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_issue_and_verify);
	tcase_add_test(tc, test_forged_valid_token_accepted);
	tcase_add_test(tc, test_attacks_refused);
	tcase_add_test(tc, test_password_hash_verify);
	tcase_add_test(tc, test_refresh_tokens);
	tcase_add_test(tc, test_email_normalize);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	sr = srunner_create(auth_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
