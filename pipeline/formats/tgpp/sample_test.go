package tgpp_test

// The sample records of testdata/sample.ber, built from TS 32.298's
// MOCallRecord and MTCallRecord: calls in China (+86) on 30 November 2026,
// local time +08:00.

// Tags of MOCallRecord and MTCallRecord (TS 32.298 CSChargingDataTypes).
const (
	tagRecordType          = 0
	tagServedIMSI          = 1
	tagServedIMEI          = 2
	tagServedMSISDN        = 3
	tagCallingNumber       = 4
	tagCalledNumber        = 5 // MO only
	moTranslatedNumber     = 6
	moConnectedNumber      = 7
	moRecordingEntity      = 9
	moChangeOfLocation     = 13
	moSeizureTime          = 22
	moAnswerTime           = 23
	moReleaseTime          = 24
	moCallDuration         = 25
	moCauseForTerm         = 30
	moDiagnostics          = 31
	moCallReference        = 32
	moSequenceNumber       = 33
	moPrivateUserID        = 77
	mtConnectedNumber      = 5
	mtRecordingEntity      = 6
	mtSeizureTime          = 19
	mtAnswerTime           = 20
	mtReleaseTime          = 21
	mtCallDuration         = 22
	mtCauseForTerm         = 27
	mtDiagnostics          = 28
	mtCallReference        = 29
	mtNetworkCallReference = 33
	mtMSCAddress           = 34
)

// Record types of the CallEventRecord CHOICE.
const (
	moCallRecord = 0
	mtCallRecord = 1
	moSMSRecord  = 6
)

// cause is diagnostics' gsm0408Cause [0] alternative.
func cause(tag uint32, n int64) el { return cons(tag, prim(0, integer(n))) }

// moAnswered: a subscriber calls a national number, answered after 8 s,
// talks for 300 s.
func moAnswered() el {
	return cons(moCallRecord,
		prim(tagRecordType, integer(1)),
		prim(tagServedIMSI, tbcd("460001234567890")),
		prim(tagServedIMEI, tbcd("3569380356438091")),
		prim(tagServedMSISDN, address(tonInternational, "8613912345678")),
		prim(tagCalledNumber, address(tonNational, "13987654321")),
		prim(moRecordingEntity, address(tonInternational, "8613800100")),
		prim(moSeizureTime, timeStamp("261130081502+0800")),
		prim(moAnswerTime, timeStamp("261130081510+0800")),
		prim(moReleaseTime, timeStamp("261130082010+0800")),
		prim(moCallDuration, integer(300)),
		prim(moCauseForTerm, integer(0)),
		cause(moDiagnostics, 16),
		prim(moCallReference, []byte{0x01, 0x02, 0xa3, 0xb4, 0xc5}),
	)
}

// moBusy: an unsuccessful call attempt (causeForTerm 3) to a busy
// subscriber (cause 17), the number dialled with the trunk prefix.
func moBusy() el {
	return cons(moCallRecord,
		prim(tagRecordType, integer(1)),
		prim(tagServedIMSI, tbcd("460001234567890")),
		prim(tagServedMSISDN, address(tonInternational, "8613912345678")),
		prim(tagCalledNumber, address(tonUnknown, "013912340000")),
		prim(moRecordingEntity, address(tonInternational, "8613800100")),
		prim(moSeizureTime, timeStamp("261130090000+0800")),
		prim(moReleaseTime, timeStamp("261130090007+0800")),
		prim(moCallDuration, integer(0)),
		prim(moCauseForTerm, integer(3)),
		cause(moDiagnostics, 17),
		prim(moCallReference, []byte{0x01, 0x02, 0xa3, 0xb4, 0xc6}),
	)
}

// mtWithheld: a call to the subscriber from a caller who withheld their
// number: no callingNumber.
func mtWithheld() el {
	return cons(mtCallRecord,
		prim(tagRecordType, integer(2)),
		prim(tagServedIMSI, tbcd("460007654321098")),
		prim(tagServedIMEI, tbcd("35209900176148")),
		prim(tagServedMSISDN, address(tonInternational, "8613700001111")),
		prim(mtRecordingEntity, address(tonInternational, "8613800200")),
		prim(mtSeizureTime, timeStamp("261130101500+0800")),
		prim(mtAnswerTime, timeStamp("261130101505+0800")),
		prim(mtReleaseTime, timeStamp("261130101550+0800")),
		prim(mtCallDuration, integer(45)),
		prim(mtCauseForTerm, integer(0)),
		cause(mtDiagnostics, 16),
		prim(mtCallReference, []byte{0x7f, 0x00, 0x00, 0x01}),
	)
}

// moInternational: a call to a UK mobile, dialled in international
// format; the seizure time is missing, as some MSCs leave it out of
// answered calls.
func moInternational() el {
	return cons(moCallRecord,
		prim(tagServedIMSI, tbcd("460001234567890")),
		prim(tagServedMSISDN, address(tonInternational, "8613912345678")),
		prim(tagCalledNumber, address(tonInternational, "447700900123")),
		prim(moRecordingEntity, address(tonInternational, "8613800100")),
		prim(moAnswerTime, timeStamp("261130113000+0800")),
		prim(moReleaseTime, timeStamp("261130114500+0800")),
		prim(moCallDuration, integer(900)),
		prim(moCauseForTerm, integer(0)),
		cause(moDiagnostics, 16),
		prim(moCallReference, []byte{0x01, 0x02, 0xa3, 0xb4, 0xc7}),
	)
}

// mtLongForms: an MT call from a local (subscriber) number with every
// length in long form, 0x81 to 0x84 (BER allows more octets than needed),
// and unknown members with multi-byte tags: networkCallReference [33] and
// mSCAddress [34] (every MO record has them too: diagnostics [31],
// callReference [32]).
func mtLongForms() el {
	return cons(mtCallRecord,
		prim(tagServedIMSI, tbcd("460007654321098")).withLen(1),
		prim(tagServedMSISDN, address(tonInternational, "8613700001111")).withLen(2),
		prim(tagCallingNumber, address(tonSubscriber, "87654321")).withLen(3),
		prim(mtRecordingEntity, address(tonInternational, "8613800200")).withLen(4),
		prim(mtSeizureTime, timeStamp("261130120000+0800")).withLen(1),
		prim(mtAnswerTime, timeStamp("261130120012+0800")).withLen(2),
		prim(mtReleaseTime, timeStamp("261130120112+0800")).withLen(3),
		prim(mtCallDuration, integer(60)).withLen(4),
		prim(mtCauseForTerm, integer(0)).withLen(1),
		cons(mtDiagnostics, prim(0, integer(16)).withLen(2)).withLen(2),
		prim(mtCallReference, []byte{0x7f, 0x00, 0x00, 0x02}).withLen(1),
		prim(mtNetworkCallReference, []byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}).withLen(2),
		prim(mtMSCAddress, address(tonInternational, "8613800200")).withLen(4),
	).withLen(3)
}

// moUnknownMembers: an answered MO call with the members the parser does
// not read (recordType, translatedNumber [6] and connectedNumber [7],
// changeOfLocation [13] with a nested SEQUENCE, sequenceNumber [33],
// privateUserID [77]) and a member of a vendor's private class; none may
// change what is read. translatedNumber is [6]: read as the
// recordingEntity it would be taken for the wrong switch.
func moUnknownMembers() el {
	return cons(moCallRecord,
		prim(tagRecordType, integer(1)),
		prim(tagServedIMSI, tbcd("460001234567890")),
		prim(tagServedMSISDN, address(tonInternational, "8613912345678")),
		prim(tagCalledNumber, address(tonNational, "2188776655")),
		prim(moTranslatedNumber, address(tonInternational, "862188776655")),
		prim(moConnectedNumber, address(tonInternational, "862188776655")),
		prim(moRecordingEntity, address(tonInternational, "8613800100")),
		cons(moChangeOfLocation, el{class: constructed, tag: 16, body: []byte{0x80, 0x02, 0x12, 0x34}}),
		prim(moSeizureTime, timeStamp("261130130000+0800")),
		prim(moAnswerTime, timeStamp("261130130020+0800")),
		prim(moReleaseTime, timeStamp("261130130120+0800")),
		prim(moCallDuration, integer(60)),
		prim(moCauseForTerm, integer(0)),
		cause(moDiagnostics, 16),
		prim(moCallReference, []byte{0x01, 0x02, 0xa3, 0xb4, 0xc8}),
		prim(moSequenceNumber, integer(7)),
		prim(moPrivateUserID, []byte("user@ims.example")),
		el{class: 0xc0, tag: 5, body: []byte{0xde, 0xad}},
	)
}

// moIndefinite: an MO call written with indefinite lengths on the record
// and on an unknown constructed member, and no recordingEntity (the
// configured switch names it).
func moIndefinite() el {
	return cons(moCallRecord,
		prim(tagServedMSISDN, address(tonInternational, "8613912345678")),
		prim(tagCalledNumber, address(tonNational, "13987654321")),
		cons(moChangeOfLocation, el{class: constructed, tag: 16, body: []byte{0x80, 0x02, 0x12, 0x34}}.withLen(-1)).withLen(-1),
		prim(moSeizureTime, timeStamp("261130140000+0800")),
		prim(moAnswerTime, timeStamp("261130140003+0800")),
		prim(moReleaseTime, timeStamp("261130140033+0800")),
		prim(moCallDuration, integer(30)),
		prim(moCauseForTerm, integer(0)),
		cause(moDiagnostics, 16),
		prim(moCallReference, []byte{0x01, 0x02, 0xa3, 0xb4, 0xc9}),
	).withLen(-1)
}

// moAbnormal: the call was released abnormally (causeForTerm 4) before an
// answer, with no diagnostics: failed.
func moAbnormal() el {
	return cons(moCallRecord,
		prim(tagServedMSISDN, address(tonInternational, "8613912345678")),
		prim(tagCalledNumber, address(tonNational, "13987654321")),
		prim(moRecordingEntity, address(tonInternational, "8613800100")),
		prim(moSeizureTime, timeStamp("261130150000+0800")),
		prim(moReleaseTime, timeStamp("261130150002+0800")),
		prim(moCallDuration, integer(0)),
		prim(moCauseForTerm, integer(4)),
		prim(moCallReference, []byte{0x01, 0x02, 0xa3, 0xb4, 0xca}),
	)
}

// moStarHash: a call to a service code with '*' and '#' (TBCD 0xA and
// 0xB): read as written, then rejected by the decoder as not a number.
func moStarHash() el {
	return cons(moCallRecord,
		prim(tagServedMSISDN, address(tonInternational, "8613912345678")),
		prim(tagCalledNumber, address(tonUnknown, "*21*13987654321#")),
		prim(moRecordingEntity, address(tonInternational, "8613800100")),
		prim(moSeizureTime, timeStamp("261130160000+0800")),
		prim(moReleaseTime, timeStamp("261130160001+0800")),
		prim(moCallDuration, integer(0)),
		prim(moCauseForTerm, integer(0)),
		prim(moCallReference, []byte{0x01, 0x02, 0xa3, 0xb4, 0xcb}),
	)
}

// moSMS: an SMS record, another alternative of the CHOICE: not a call.
func moSMS() el {
	return cons(moSMSRecord,
		prim(tagServedIMSI, tbcd("460001234567890")),
		prim(2, address(tonInternational, "8613912345678")),
	)
}

// samples are the records of testdata/sample.ber, in order.
func samples() [][]byte {
	var recs [][]byte
	for _, e := range []el{moAnswered(), moBusy(), mtWithheld(), moInternational(), mtLongForms(),
		moUnknownMembers(), moIndefinite(), moAbnormal(), moStarHash(), moSMS()} {
		recs = append(recs, e.bytes())
	}
	return recs
}

// sampleFile is testdata/sample.ber: the samples, with the zero padding
// some CGFs write between records and after the last.
func sampleFile() []byte {
	recs := samples()
	var out []byte
	for i, r := range recs {
		out = append(out, r...)
		if i == 2 {
			out = append(out, 0, 0, 0, 0)
		}
	}
	return append(out, make([]byte, 16)...)
}
