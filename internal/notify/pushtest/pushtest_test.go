package pushtest

import (
	"crypto/ecdh"
	"testing"
)

// rfc8291 is the worked example of RFC 8291, Appendix A.
var rfc8291 = struct{ plaintext, uaPrivate, auth, body string }{
	plaintext: "When I grow up, I want to be a watermelon",
	uaPrivate: "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
	auth:      "BTBZMqHH6r4Tts7J_aSIgg",
	body: "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT" +
		"pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
}

// TestDecryptRFC8291: the test's browser side reads the RFC's example, so
// a round trip through it checks the sender against the RFC, not against
// itself; a flipped byte fails.
func TestDecryptRFC8291(t *testing.T) {
	d, _ := b64.DecodeString(rfc8291.uaPrivate)
	ua, err := ecdh.P256().NewPrivateKey(d)
	if err != nil {
		t.Fatal(err)
	}
	auth, _ := b64.DecodeString(rfc8291.auth)
	body, _ := b64.DecodeString(rfc8291.body)
	got, err := Decrypt(body, ua, auth)
	if err != nil || string(got) != rfc8291.plaintext {
		t.Fatalf("decrypt: %q %v", got, err)
	}
	body[len(body)-20] ^= 1
	if _, err := Decrypt(body, ua, auth); err == nil {
		t.Fatal("a changed body decrypted")
	}
}
