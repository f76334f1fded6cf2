package telephony

import _ "embed"

// Greeting is the voicemail greeting a user who recorded none has: "The
// person you are calling is not available. Please leave a message after
// the tone." in espeak-ng's voice, 8 kHz 16-bit mono PCM WAV, the rate of
// a G.711 call. Made with
//
//	espeak-ng -v en-us -s 150 -w gr.wav "The person you are calling …"
//	sox gr.wav -r 8000 -c 1 -b 16 -e signed-integer greeting.wav
//
//go:embed greeting.wav
var Greeting []byte
