package journeybee

import (
	"encoding/json" // canonical keeps raw values as json.RawMessage

	"github.com/hookline/hookline/shared/canonical"
)

// normalize maps a validated payload onto the canonical model.
func normalize(spec eventSpec, p *Payload) canonical.Record {
	r := canonical.Record{Kind: spec.kind, Action: spec.action}
	switch spec.kind {
	case canonical.KindLead:
		r.Lead = normalizeLead(p.Lead)
	case canonical.KindDeal:
		r.Deal = normalizeDeal(p.Deal)
		if spec.action == canonical.ActionDeleted {
			r.Deal.Status = "deleted"
		}
	case canonical.KindNote:
		r.Note = normalizeNote(p.Note, spec.parent)
	case canonical.KindPartner:
		r.Partner = normalizePartner(p.Partnership)
	case canonical.KindContact:
		r.Contact = normalizeContact(p.Contact, p.Partnership)
	case canonical.KindMessage:
		r.Message = normalizeMessage(p.Message)
	}
	return r
}

func normalizeLead(l *Lead) *canonical.Lead {
	out := &canonical.Lead{
		ID:           string(l.UUID),
		Email:        string(l.Email),
		FirstName:    string(l.FirstName),
		LastName:     string(l.LastName),
		Phone:        string(l.PhoneNumber),
		Company:      string(l.CompanyName),
		Tags:         tagLabels(l.Tags),
		Owners:       people(l.AssignedUsers),
		CustomFields: customFields(l.CustomFields),
		CreatedAt:    l.CreatedAt.ptr(),
		UpdatedAt:    l.UpdatedAt.ptr(),
	}
	if l.CreatedByUserUUID != "" || l.CreatedByUserEmail != "" {
		out.CreatedBy = &canonical.Person{
			ID:        string(l.CreatedByUserUUID),
			Email:     string(l.CreatedByUserEmail),
			FirstName: string(l.CreatedByUserFirstName),
			LastName:  string(l.CreatedByUserLastName),
		}
	}
	if len(l.ReceivedFromCompany) > 0 {
		rf := l.ReceivedFromCompany[0]
		out.Partner = &canonical.PartnerRef{
			ID:      string(rf.PartnershipUUID),
			Company: string(rf.CompanyName),
			Domain:  string(rf.CompanyDomain),
			Type:    string(rf.PartnerType),
		}
	}
	return out
}

func normalizeDeal(d *Deal) *canonical.Deal {
	out := &canonical.Deal{
		ID:           string(d.UUID),
		Name:         string(d.Label),
		Amount:       d.DealValue.ptr(),
		Currency:     string(d.CurrencyCode),
		Stage:        string(d.StageUUID),
		LeadID:       string(d.LeadUUID),
		Commission:   d.TotalCommissionValue.ptr(),
		Tags:         tagLabels(d.Tags),
		Owners:       people(d.AssignedUsers),
		CustomFields: customFields(d.CustomFields),
		CreatedAt:    d.CreatedAt.ptr(),
		UpdatedAt:    d.UpdatedAt.ptr(),
	}
	if d.PartnershipUUID != "" || d.PartnerCompanyName != "" || d.PartnershipName != "" {
		company := d.PartnerCompanyName
		if company == "" {
			company = d.PartnershipName
		}
		out.Partner = &canonical.PartnerRef{
			ID:      string(d.PartnershipUUID),
			Company: string(company),
			Domain:  string(d.PartnerCompanyDomain),
		}
		if d.DealOwnedByReseller.Value { // a reseller partner owns the deal (J4)
			out.Partner.Type = "reseller"
		}
	}
	return out
}

func normalizeNote(n *Note, parent canonical.Kind) *canonical.Note {
	out := &canonical.Note{
		ID:         string(n.UUID),
		Text:       string(n.Document),
		ParentKind: parent,
		ParentID:   string(n.LeadUUID),
		CreatedAt:  n.CreatedAt.ptr(),
	}
	if parent == canonical.KindDeal {
		out.ParentID = string(n.LeadDealUUID)
	}
	if n.UserUUID != "" || n.UserEmail != "" {
		out.Author = &canonical.Person{
			ID:        string(n.UserUUID),
			Email:     string(n.UserEmail),
			FirstName: string(n.UserFirstName),
			LastName:  string(n.UserLastName),
		}
	}
	return out
}

func normalizePartner(p *Partnership) *canonical.Partner {
	return &canonical.Partner{
		ID:           string(p.UUID),
		Company:      string(p.CompanyName),
		Domain:       string(p.CompanyDomain),
		Website:      string(p.CompanyWebsite),
		Description:  string(p.CompanyDescription),
		Email:        string(p.CompanyEmail),
		Phone:        string(p.CompanyPhoneNumber),
		Country:      string(p.CountryLabel),
		Industry:     string(p.IndustryLabel),
		Stage:        string(p.StageLabel),
		Category:     string(p.CategoryLabel),
		Tier:         string(p.TierLabel),
		CustomFields: customFields(p.CustomFields),
	}
}

// normalizeContact maps a partner contact; when the body carried only the
// partnership, the contact is known by its partner alone.
func normalizeContact(c *PartnerContact, p *Partnership) *canonical.Contact {
	out := &canonical.Contact{}
	if p != nil {
		out.PartnerID = string(p.UUID)
	}
	if c == nil {
		return out
	}
	out.ID = string(c.UUID)
	out.Email = string(c.Email)
	out.FirstName = string(c.FirstName)
	out.LastName = string(c.LastName)
	out.Phone = string(c.PhoneNumber)
	out.Position = string(c.Position)
	if c.PartnershipUUID != "" {
		out.PartnerID = string(c.PartnershipUUID)
	}
	return out
}

func normalizeMessage(m *Message) *canonical.Message {
	out := &canonical.Message{
		ID:        string(m.UUID),
		Content:   json.RawMessage(m.Content),
		RoomID:    string(m.RoomUUID),
		ReplyTo:   string(m.RepliedToMessageUUID),
		CreatedAt: m.CreatedAt.ptr(),
		UpdatedAt: m.UpdatedAt.ptr(),
	}
	if string(out.Content) == "null" {
		out.Content = nil
	}
	if m.PartnershipUUID != "" || m.PartnershipName != "" {
		out.Partner = &canonical.PartnerRef{
			ID:      string(m.PartnershipUUID),
			Company: string(m.PartnershipName),
			Type:    string(m.PartnerType),
		}
	}
	if m.CreatedByUserUUID != "" || m.CreatedByUserEmail != "" {
		out.Author = &canonical.Person{
			ID:        string(m.CreatedByUserUUID),
			Email:     string(m.CreatedByUserEmail),
			FirstName: string(m.CreatedByUserFirstName),
			LastName:  string(m.CreatedByUserLastName),
		}
	}
	for _, a := range m.Attachments {
		out.Attachments = append(out.Attachments, canonical.Attachment{
			ID:       string(a.UUID),
			Name:     string(a.FileName),
			Size:     int64(a.FileSize),
			MimeType: string(a.MimeType),
			URL:      string(a.FileURL),
		})
	}
	return out
}

// tagLabels returns the non-empty tag labels.
func tagLabels(tags []Tag) []string {
	var out []string
	for _, t := range tags {
		if t.Label != "" {
			out = append(out, string(t.Label))
		}
	}
	return out
}

// people maps users; a user's id is its uuid, else its numeric id.
func people(users []User) []canonical.Person {
	if len(users) == 0 {
		return nil
	}
	out := make([]canonical.Person, len(users))
	for i, u := range users {
		id := string(u.UUID)
		if id == "" {
			id = string(u.ID)
		}
		out[i] = canonical.Person{ID: id, Email: string(u.Email), FirstName: string(u.FirstName), LastName: string(u.LastName)}
	}
	return out
}

func customFields(fields []CustomField) []canonical.CustomField {
	if len(fields) == 0 {
		return nil
	}
	out := make([]canonical.CustomField, len(fields))
	for i, f := range fields {
		out[i] = canonical.CustomField{ID: string(f.UUID), Label: string(f.Label), Type: string(f.Type), Value: json.RawMessage(f.Value)}
	}
	return out
}
