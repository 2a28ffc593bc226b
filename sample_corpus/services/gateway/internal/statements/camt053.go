package statements

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// camtDocument is the subset of an ISO 20022 camt.053.001.08 document Ledgerline reads.
type camtDocument struct {
	Statements []struct {
		Account struct {
			IBAN string `xml:"Id>IBAN"`
		} `xml:"Acct"`
		Entries []camtEntry `xml:"Ntry"`
	} `xml:"BkToCstmrStmt>Stmt"`
}

type camtEntry struct {
	Amount struct {
		Value    string `xml:",chardata"`
		Currency string `xml:"Ccy,attr"`
	} `xml:"Amt"`
	CreditDebit string `xml:"CdtDbtInd"`
	ValueDate   string `xml:"ValDt>Dt"`
	BookingDate string `xml:"BookgDt>Dt"`
	Details     []struct {
		EndToEndID string `xml:"Refs>EndToEndId"`
		Amount     string `xml:"Amt"`
		Debtor     string `xml:"RltdPties>Dbtr>Nm"`
	} `xml:"NtryDtls>TxDtls"`
}

// CamtLine is one statement line taken from a CAMT.053 entry.
type CamtLine struct {
	Account      string
	Amount       string
	Currency     string
	ValueDate    string
	BookingDate  string
	EndToEndRef  string
	Counterparty string
}

// ParseCAMT053 reads a CAMT.053 statement. A batched entry (several TxDtls) becomes one
// line per TxDtls, each with its own end-to-end reference.
func ParseCAMT053(r io.Reader) ([]CamtLine, error) {
	var doc camtDocument
	if err := xml.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrParse, err)
	}
	var lines []CamtLine
	for _, st := range doc.Statements {
		for _, e := range st.Entries {
			sign := ""
			if e.CreditDebit == "DBIT" {
				sign = "-"
			}
			if len(e.Details) == 0 {
				lines = append(lines, CamtLine{Account: st.Account.IBAN, Amount: sign + e.Amount.Value,
					Currency: e.Amount.Currency, ValueDate: e.ValueDate, BookingDate: e.BookingDate})
				continue
			}
			for _, d := range e.Details {
				amount := d.Amount
				if amount == "" {
					amount = e.Amount.Value
				}
				lines = append(lines, CamtLine{Account: st.Account.IBAN, Amount: sign + strings.TrimSpace(amount),
					Currency: e.Amount.Currency, ValueDate: e.ValueDate, BookingDate: e.BookingDate,
					EndToEndRef: d.EndToEndID, Counterparty: d.Debtor})
			}
		}
	}
	return lines, nil
}
