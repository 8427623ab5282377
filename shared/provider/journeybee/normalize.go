package journeybee

import (
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
		ID:           l.UUID,
		Email:        l.Email,
		FirstName:    l.FirstName,
		LastName:     l.LastName,
		Phone:        l.PhoneNumber,
		Company:      l.CompanyName,
		Tags:         tagLabels(l.Tags),
		Owners:       people(l.AssignedUsers),
		CustomFields: customFields(l.CustomFields),
		CreatedAt:    l.CreatedAt.ptr(),
		UpdatedAt:    l.UpdatedAt.ptr(),
	}
	if l.CreatedByUserUUID != "" || l.CreatedByUserEmail != "" {
		out.CreatedBy = &canonical.Person{
			ID:        l.CreatedByUserUUID,
			Email:     l.CreatedByUserEmail,
			FirstName: l.CreatedByUserFirstName,
			LastName:  l.CreatedByUserLastName,
		}
	}
	if len(l.ReceivedFromCompany) > 0 {
		rf := l.ReceivedFromCompany[0]
		out.Partner = &canonical.PartnerRef{
			ID:      rf.PartnershipUUID,
			Company: rf.CompanyName,
			Domain:  rf.CompanyDomain,
			Type:    rf.PartnerType,
		}
	}
	return out
}

func normalizeDeal(d *Deal) *canonical.Deal {
	out := &canonical.Deal{
		ID:           d.UUID,
		Name:         d.Label,
		Amount:       d.DealValue.ptr(),
		Currency:     d.CurrencyCode,
		Stage:        d.StageUUID,
		LeadID:       d.LeadUUID,
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
			ID:      d.PartnershipUUID,
			Company: company,
			Domain:  d.PartnerCompanyDomain,
		}
		if d.DealOwnedByReseller.Value { // a reseller partner owns the deal (J4)
			out.Partner.Type = "reseller"
		}
	}
	return out
}

func normalizeNote(n *Note, parent canonical.Kind) *canonical.Note {
	out := &canonical.Note{
		ID:         n.UUID,
		Text:       n.Document,
		ParentKind: parent,
		ParentID:   n.LeadUUID,
		CreatedAt:  n.CreatedAt.ptr(),
	}
	if parent == canonical.KindDeal {
		out.ParentID = n.LeadDealUUID
	}
	if n.UserUUID != "" || n.UserEmail != "" {
		out.Author = &canonical.Person{
			ID:        n.UserUUID,
			Email:     n.UserEmail,
			FirstName: n.UserFirstName,
			LastName:  n.UserLastName,
		}
	}
	return out
}

func normalizePartner(p *Partnership) *canonical.Partner {
	return &canonical.Partner{
		ID:           p.UUID,
		Company:      p.CompanyName,
		Domain:       p.CompanyDomain,
		Website:      p.CompanyWebsite,
		Description:  p.CompanyDescription,
		Email:        p.CompanyEmail,
		Phone:        p.CompanyPhoneNumber,
		Country:      p.CountryLabel,
		Industry:     p.IndustryLabel,
		Stage:        p.StageLabel,
		Category:     p.CategoryLabel,
		Tier:         p.TierLabel,
		CustomFields: customFields(p.CustomFields),
	}
}

// normalizeContact maps a partner contact; when the body carried only the
// partnership, the contact is known by its partner alone.
func normalizeContact(c *PartnerContact, p *Partnership) *canonical.Contact {
	out := &canonical.Contact{}
	if p != nil {
		out.PartnerID = p.UUID
	}
	if c == nil {
		return out
	}
	out.ID = c.UUID
	out.Email = c.Email
	out.FirstName = c.FirstName
	out.LastName = c.LastName
	out.Phone = c.PhoneNumber
	out.Position = c.Position
	if c.PartnershipUUID != "" {
		out.PartnerID = c.PartnershipUUID
	}
	return out
}

func normalizeMessage(m *Message) *canonical.Message {
	out := &canonical.Message{
		ID:        m.UUID,
		Content:   m.Content,
		RoomID:    m.RoomUUID,
		ReplyTo:   m.RepliedToMessageUUID,
		CreatedAt: m.CreatedAt.ptr(),
		UpdatedAt: m.UpdatedAt.ptr(),
	}
	if string(out.Content) == "null" {
		out.Content = nil
	}
	if m.PartnershipUUID != "" || m.PartnershipName != "" {
		out.Partner = &canonical.PartnerRef{
			ID:      m.PartnershipUUID,
			Company: m.PartnershipName,
			Type:    m.PartnerType,
		}
	}
	if m.CreatedByUserUUID != "" || m.CreatedByUserEmail != "" {
		out.Author = &canonical.Person{
			ID:        m.CreatedByUserUUID,
			Email:     m.CreatedByUserEmail,
			FirstName: m.CreatedByUserFirstName,
			LastName:  m.CreatedByUserLastName,
		}
	}
	for _, a := range m.Attachments {
		out.Attachments = append(out.Attachments, canonical.Attachment{
			ID:       a.UUID,
			Name:     a.FileName,
			Size:     a.FileSize,
			MimeType: a.MimeType,
			URL:      a.FileURL,
		})
	}
	return out
}

// tagLabels returns the non-empty tag labels.
func tagLabels(tags []Tag) []string {
	var out []string
	for _, t := range tags {
		if t.Label != "" {
			out = append(out, t.Label)
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
		id := u.UUID
		if id == "" {
			id = string(u.ID)
		}
		out[i] = canonical.Person{ID: id, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName}
	}
	return out
}

func customFields(fields []CustomField) []canonical.CustomField {
	if len(fields) == 0 {
		return nil
	}
	out := make([]canonical.CustomField, len(fields))
	for i, f := range fields {
		out[i] = canonical.CustomField{ID: f.UUID, Label: f.Label, Type: f.Type, Value: f.Value}
	}
	return out
}
