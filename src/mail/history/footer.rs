//! What clients and servers add under the text: mobile and app footers
//! ("Sent from my iPhone" in fifteen languages) and legal disclaimers. A
//! reply ends at them; a forwarder's note does not include them.

use super::super::guarded::Guarded;

/// "Sent from my iPhone" and its kin, in the languages and apps that add
/// one under what the person wrote.
static FOOTER: Guarded = Guarded::new(
    &[
        "sent",
        "outlook",
        "gesendet",
        "envoy",
        "enviad",
        "inviato",
        "verstuurd",
        "verzonden",
        "skickat",
        "sendt",
        "wys",
        "odesl",
        "тправлено",
        "から送信",
        "发自我的",
        "從我的",
        "发送自",
        "에서",
    ],
    r"(?ix)^\s*(
            sent\s+(from|with|via|using)\s.+ |
            (get|download|obtener|obter\s+o|télécharger|scarica|descargar)\s+outlook\s.+ |
            outlook\s+für\s.+\s+beziehen |
            von\s+meinem\s.+\s+gesendet | gesendet\s+(von|mit|vom)\s.+ |
            envoyé\s+(de|depuis|avec)\s.+ |
            enviad[oa]\s+(desde|do|da|de|con|com|a\s+partir\s+d[oe])\s.+ |
            inviato\s+(da|con)\s.+ |
            (verstuurd|verzonden)\s+(vanaf|vanuit|met|van)\s.+ |
            (skickat|sendt|sendt\s+med)\s+(från|fra)\s.+ |
            wysłane\s+z\s.+ | odesláno\s+z\s.+ |
            отправлено\s+(с|из)\s.+ |
            .+から送信 | 发自我的.+ | 從我的.+傳送 | 发送自.+ | .+에서\s+보냄
        )\s*$",
);

/// Whether `line` is a mobile or app footer ("Sent from my iPhone").
pub(crate) fn is_footer(line: &str) -> bool {
    // Footers are short; the length is checked here rather than in the
    // pattern, where a bounded repetition of `.` is costly to compile.
    line.chars().count() <= 80 && FOOTER.is_match(line)
}

/// `text` without the mobile footers under it ("Sent from my iPhone").
pub(crate) fn without_trailing_footers(text: &str) -> &str {
    let mut text = text.trim_end();
    while let Some((rest, last)) = text.rsplit_once('\n') {
        if !is_footer(last) {
            break;
        }
        text = rest.trim_end();
    }
    if is_footer(text) { "" } else { text }
}

/// Legal footers a mail server appends below everything, quotes included.
static DISCLAIMER: Guarded = Guarded::new(
    &[
        "confidenti",
        "confidencial",
        "disclaimer",
        "privileged",
        "intended",
        "information",
        "vertraulich",
        "strictement",
        "informaci",
    ],
    r"(?i)^\W*(confidentiality notice|disclaimer|this (e-?mail|message|communication)( and any (attachments|files)( transmitted with it)?)? (is|are|may contain|contains?) (confidential|privileged|intended)|the information (contained )?in this (e-?mail|message)|diese (e-mail|nachricht) (enthält|kann) vertrauliche|ce (message|courriel|mail) (et ses pièces jointes )?(est|sont|peut|contient) (confidentiel|strictement)|este (mensaje|correo)( electrónico)? (es|y sus anexos|contiene|puede contener) (confidencial|información))",
);

/// Whether `line` opens a legal disclaimer a server appended.
pub(crate) fn is_disclaimer(line: &str) -> bool {
    DISCLAIMER.is_match(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_let_through_every_line_their_pattern_matches() {
        use crate::mail::guarded::assert_guard_holds_on_fixtures as holds;
        holds("FOOTER", &FOOTER);
        holds("DISCLAIMER", &DISCLAIMER);
    }

    #[test]
    fn footers_under_a_text() {
        assert_eq!(without_trailing_footers("Yes\n\nSent from my iPhone\nGet Outlook for Android"), "Yes");
        assert!(is_footer("Von meinem iPhone gesendet"));
        assert!(!is_footer("Sent it yesterday"));
        assert!(is_disclaimer("This e-mail is confidential and intended only for the addressee."));
    }
}
