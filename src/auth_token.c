#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jwt.h>
#include <json-c/json.h>

#include "brainstorm/auth.h"
#include "brainstorm/json.h"
#include "brainstorm/validate.h"

#define CLOCK_SKEW_S	30
/* base64url of {"alg":"HS256","typ":"JWT"}, the header libjwt writes. */
#define ISSUED_HEADER	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

bs_err
auth_access_issue(const struct bs_config *cfg, const char *user_id,
    const char *session_id, char **token)
{
	jwt_t		*jwt = NULL;
	unsigned char	 raw[16];
	char		 jti[2 * sizeof(raw) + 1];
	time_t		 now = time(NULL);
	bs_err		 e = BS_ERR_INTERNAL;

	*token = NULL;
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(jti, sizeof(jti), raw, sizeof(raw));
	if (jwt_new(&jwt) != 0)
		goto out;
	if (jwt_add_grant(jwt, "sub", user_id) != 0 ||
	    jwt_add_grant(jwt, "sid", session_id) != 0 ||
	    jwt_add_grant(jwt, "iss", AUTH_ISSUER) != 0 ||
	    jwt_add_grant(jwt, "aud", AUTH_AUDIENCE) != 0 ||
	    jwt_add_grant(jwt, "jti", jti) != 0 ||
	    jwt_add_grant_int(jwt, "iat", (long)now) != 0 ||
	    jwt_add_grant_int(jwt, "exp", (long)now + AUTH_ACCESS_TTL_S) != 0)
		goto out;
	if (jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)cfg->jwt_secret,
	    (int)strlen(cfg->jwt_secret)) != 0)
		goto out;
	if ((*token = jwt_encode_str(jwt)) != NULL)
		e = BS_OK;
out:
	jwt_free(jwt);
	return e;
}

/*
 * The header is checked before anything else: only {"alg":"HS256"}
 * (with an optional "typ":"JWT") is acceptable, so "none", RS256 and other
 * algorithm confusions end here, and so do "crit", "kid", "jku" and every
 * other header parameter.
 */
static bool
header_acceptable(const char *token)
{
	const char	*dot = strchr(token, '.');
	unsigned char	 raw[512];
	size_t		 rawlen;
	json_object	*hdr = NULL, *v;
	char		 reason[64];
	bool		 ok = false;

	if (dot == NULL || dot - token > 680)
		return false;
	/* The header this program issues: nothing to decode. */
	if ((size_t)(dot - token) == sizeof(ISSUED_HEADER) - 1 &&
	    memcmp(token, ISSUED_HEADER, sizeof(ISSUED_HEADER) - 1) == 0)
		return true;
	if (sodium_base642bin(raw, sizeof(raw) - 1, token, (size_t)(dot - token),
	    NULL, &rawlen, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return false;
	if (json_parse_limited((const char *)raw, rawlen, 4, &hdr, reason,
	    sizeof(reason)) != BS_OK || !json_object_is_type(hdr, json_type_object))
		goto out;
	if (!json_object_object_get_ex(hdr, "alg", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "HS256") != 0)
		goto out;
	if (json_object_object_get_ex(hdr, "typ", &v) &&
	    (!json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "JWT") != 0))
		goto out;
	/*
	 * Nothing else: a "crit" naming extensions we do not understand must
	 * be refused (RFC 7515 section 4.1.11), and we understand none.
	 */
	json_object_object_foreach(hdr, key, val) {
		(void)val;
		if (strcmp(key, "alg") != 0 && strcmp(key, "typ") != 0)
			goto out;
	}
	ok = true;
out:
	json_object_put(hdr);
	return ok;
}

/* Each byte's value in base64url's alphabet, -1 for the others. */
static const signed char b64url_values[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
	-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
	-1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

/*
 * base64url without padding, as sodium_base642bin decodes it (canonical:
 * the unused bits of the last character are zero), but a table lookup per
 * character rather than libsodium's constant-time arithmetic, which cost
 * more than the HMAC: what is decoded here, the payload and the signature
 * a client sent, is no secret. -1 for anything else or more than cap.
 */
static int
b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap,
    size_t *outlen)
{
	unsigned int	 acc = 0, bits = 0;
	size_t		 i, n = 0;
	int		 v;

	for (i = 0; i < len; i++) {
		if ((v = b64url_values[(unsigned char)in[i]]) < 0)
			return -1;
		acc = (acc << 6 | (unsigned int)v) & 0xffffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (n == cap)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	if (bits > 4 || (acc & ((1U << bits) - 1)) != 0)
		return -1;
	*outlen = n;
	return 0;
}

/* A claim that is a JSON string without a NUL in it, else NULL. */
static const char *
claim_string(json_object *claims, const char *name)
{
	json_object	*v;
	const char	*s;

	if (!json_object_object_get_ex(claims, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	return strlen(s) == (size_t)json_object_get_string_len(v) ? s : NULL;
}

/* A claim that is a JSON integer. */
static bool
claim_int(json_object *claims, const char *name, int64_t *out)
{
	json_object	*v;

	if (!json_object_object_get_ex(claims, name, &v) ||
	    !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

/*
 * Verified here rather than by libjwt, which costs a JSON library of its
 * own, a base64 one and an OpenSSL algorithm fetch on every request: the
 * header is checked first (header_acceptable), then the HMAC-SHA-256 of
 * "header.payload" (libsodium, compared in constant time), and only then
 * is the payload parsed.
 */
bs_err
auth_access_verify(const struct bs_config *cfg, const char *token,
    char user_id[AUTH_UUID_LEN], char session_id[AUTH_UUID_LEN])
{
	unsigned char	 sig[crypto_auth_hmacsha256_BYTES];
	unsigned char	 mac[crypto_auth_hmacsha256_BYTES];
	unsigned char	 payload[AUTH_TOKEN_MAX];
	crypto_auth_hmacsha256_state st;
	const char	*dot, *sigpart, *v;
	json_object	*claims = NULL;
	char		 reason[64];
	size_t		 len, siglen;
	int64_t		 exp, iat, nbf;
	int64_t		 now = (int64_t)time(NULL);
	bs_err		 e = BS_ERR_INVALID;

	user_id[0] = '\0';
	session_id[0] = '\0';
	if (token == NULL || strlen(token) > AUTH_TOKEN_MAX ||
	    !header_acceptable(token))
		goto out;
	/* header "." payload "." signature, the signature 32 bytes exactly */
	dot = strchr(token, '.');
	if ((sigpart = strchr(dot + 1, '.')) == NULL)
		goto out;
	sigpart++;
	if (b64url_decode(sigpart, strlen(sigpart), sig, sizeof(sig),
	    &siglen) != 0 || siglen != sizeof(sig))
		goto out;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)cfg->jwt_secret,
	    strlen(cfg->jwt_secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)token,
	    (size_t)(sigpart - 1 - token));
	crypto_auth_hmacsha256_final(&st, mac);
	if (sodium_memcmp(mac, sig, sizeof(mac)) != 0)
		goto out;

	if (b64url_decode(dot + 1, (size_t)(sigpart - 1 - (dot + 1)), payload,
	    sizeof(payload) - 1, &len) != 0 ||
	    json_parse_limited((const char *)payload, len, 4, &claims, reason,
	    sizeof(reason)) != BS_OK ||
	    !json_object_is_type(claims, json_type_object))
		goto out;
	if ((v = claim_string(claims, "iss")) == NULL ||
	    strcmp(v, AUTH_ISSUER) != 0)
		goto out;
	if ((v = claim_string(claims, "aud")) == NULL ||
	    strcmp(v, AUTH_AUDIENCE) != 0)
		goto out;
	if (!claim_int(claims, "exp", &exp) || exp <= now)
		goto out;
	/* exp - iat > the lifetime, written so that it cannot overflow */
	if (!claim_int(claims, "iat", &iat) || iat > now + CLOCK_SKEW_S ||
	    iat < exp - AUTH_ACCESS_TTL_S)
		goto out;
	/* nbf is optional; when present it is a number and not in the future. */
	if (json_object_object_get_ex(claims, "nbf", NULL) &&
	    (!claim_int(claims, "nbf", &nbf) || nbf > now + CLOCK_SKEW_S))
		goto out;
	if ((v = claim_string(claims, "sid")) == NULL || !uuid_valid(v))
		goto out;
	memcpy(session_id, v, AUTH_UUID_LEN);
	if ((v = claim_string(claims, "sub")) == NULL || !uuid_valid(v))
		goto out;
	memcpy(user_id, v, AUTH_UUID_LEN);
	e = BS_OK;
out:
	if (e != BS_OK)
		session_id[0] = '\0';
	json_object_put(claims);
	return e;
}

void
auth_refresh_new(const struct bs_config *cfg, char token[AUTH_REFRESH_LEN],
    char hash[AUTH_HASH_HEX_LEN])
{
	unsigned char	 raw[32];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(token, AUTH_REFRESH_LEN, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	auth_refresh_hash(cfg, token, hash);
}

/* HMAC-SHA-256 keyed with JWT_REFRESH_SECRET: a stolen table is useless. */
bs_err
auth_refresh_hash(const struct bs_config *cfg, const char *token,
    char hash[AUTH_HASH_HEX_LEN])
{
	unsigned char				 mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state		 st;
	size_t					 len = strlen(token);

	hash[0] = '\0';
	if (len == 0 || len >= AUTH_REFRESH_LEN + 16)
		return BS_ERR_INVALID;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)cfg->jwt_refresh_secret,
	    strlen(cfg->jwt_refresh_secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)token, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hash, AUTH_HASH_HEX_LEN, mac, sizeof(mac));
	return BS_OK;
}
