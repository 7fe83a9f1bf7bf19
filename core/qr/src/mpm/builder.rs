//! Making a merchant-presented code: objects ordered by id (00 first), the
//! CRC computed and put last, every rule checked before the code exists.

use std::collections::BTreeMap;

use super::error::MpmError;
use super::object::{DataObject, Value, encode_objects};
use super::rules::{self, Purpose};
use super::{Initiation, MerchantPresented, format_minor};
use crate::crc::crc_value;

/// Builds a merchant-presented code.
///
/// ```
/// use poskit_qr::mpm::{Initiation, MpmBuilder};
///
/// let code = MpmBuilder::new()
///     .initiation(Initiation::Dynamic)
///     .merchant_account(26, "A000000333010101", [(1, "123456789012345")])
///     .merchant_category_code("5812")
///     .currency("156")
///     .amount_minor(8880, 2)
///     .country("CN")
///     .merchant_name("NOODLE HOUSE")
///     .merchant_city("SHANGHAI")
///     .bill_number("ORDER0001")
///     .build()
///     .unwrap();
/// assert!(code.encode().starts_with("000201010212"));
/// assert_eq!(code.amount(), Some("88.80"));
/// ```
///
/// Setting an id again replaces its value. Nothing is checked until
/// [`MpmBuilder::build`], which names the first data object that breaks a
/// rule.
#[derive(Debug, Clone)]
pub struct MpmBuilder {
    objects: BTreeMap<u8, Value>,
}

impl Default for MpmBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl MpmBuilder {
    /// A code with payload format indicator `01`, the only version.
    pub fn new() -> Self {
        let mut objects = BTreeMap::new();
        objects.insert(0, Value::Text("01".to_owned()));
        MpmBuilder { objects }
    }

    /// Sets a data object at the root, replacing any with its id. Data
    /// object 63 is ignored: the CRC is computed.
    pub fn set(mut self, object: DataObject) -> Self {
        let id = object.id();
        if id != 63 {
            self.objects.insert(id, object.value().clone());
        }
        self
    }

    fn text(self, id: u8, value: &str) -> Self {
        self.set(DataObject::text(id, value))
    }

    /// Sets `sub_id` inside the template `id`, creating the template.
    fn sub(mut self, id: u8, sub_id: u8, value: &str) -> Self {
        let entry = self
            .objects
            .entry(id)
            .or_insert_with(|| Value::Template(Vec::new()));
        if let Value::Text(_) = entry {
            *entry = Value::Template(Vec::new());
        }
        if let Value::Template(children) = entry {
            children.retain(|c| c.id() != sub_id);
            children.push(DataObject::text(sub_id, value));
        }
        self
    }

    pub fn initiation(self, initiation: Initiation) -> Self {
        self.text(
            1,
            match initiation {
                Initiation::Static => "11",
                Initiation::Dynamic => "12",
            },
        )
    }

    /// A card scheme's merchant account (ids 02 to 25, table 4.1: e.g. 02
    /// Visa, 04 Mastercard, 15 UnionPay), a plain value.
    pub fn scheme_account(self, id: u8, value: &str) -> Self {
        self.text(id, value)
    }

    /// A merchant account template (ids 26 to 51): the globally unique
    /// identifier of the network (an AID or a reverse domain name) and the
    /// network's own sub-objects.
    pub fn merchant_account<'a>(
        self,
        id: u8,
        gui: &str,
        fields: impl IntoIterator<Item = (u8, &'a str)>,
    ) -> Self {
        self.template(id, gui, fields)
    }

    /// An unreserved template (ids 80 to 99), laid out like a merchant
    /// account template.
    pub fn unreserved_template<'a>(
        self,
        id: u8,
        gui: &str,
        fields: impl IntoIterator<Item = (u8, &'a str)>,
    ) -> Self {
        self.template(id, gui, fields)
    }

    fn template<'a>(self, id: u8, gui: &str, fields: impl IntoIterator<Item = (u8, &'a str)>) -> Self {
        let mut children = vec![DataObject::text(0, gui)];
        children.extend(
            fields
                .into_iter()
                .map(|(sub, value)| DataObject::text(sub, value)),
        );
        self.set(DataObject::template(id, children))
    }

    /// ISO 18245, four digits.
    pub fn merchant_category_code(self, mcc: &str) -> Self {
        self.text(52, mcc)
    }

    /// ISO 4217 numeric, e.g. `156` for CNY.
    pub fn currency(self, numeric: &str) -> Self {
        self.text(53, numeric)
    }

    /// The amount as the code writes it, e.g. `88.80`.
    pub fn amount(self, amount: &str) -> Self {
        self.text(54, amount)
    }

    /// The amount from minor units: 8880 with exponent 2 is `88.80`.
    pub fn amount_minor(self, minor: u64, exponent: u8) -> Self {
        self.text(54, &format_minor(minor, exponent))
    }

    /// The wallet asks the customer for a tip (55 = `01`).
    pub fn tip_prompt(self) -> Self {
        self.without(&[56, 57]).text(55, "01")
    }

    /// A fixed convenience fee (55 = `02`, 56 = `fee`).
    pub fn convenience_fee_fixed(self, fee: &str) -> Self {
        self.without(&[57]).text(55, "02").text(56, fee)
    }

    /// A percentage convenience fee (55 = `03`, 57 = `percent`).
    pub fn convenience_fee_percentage(self, percent: &str) -> Self {
        self.without(&[56]).text(55, "03").text(57, percent)
    }

    fn without(mut self, ids: &[u8]) -> Self {
        ids.iter().for_each(|id| {
            self.objects.remove(id);
        });
        self
    }

    /// ISO 3166-1 alpha-2, e.g. `CN`.
    pub fn country(self, code: &str) -> Self {
        self.text(58, code)
    }

    /// At most 25 characters of the common character set; other scripts
    /// go in the language template ([`MpmBuilder::language`]).
    pub fn merchant_name(self, name: &str) -> Self {
        self.text(59, name)
    }

    /// At most 15 characters.
    pub fn merchant_city(self, city: &str) -> Self {
        self.text(60, city)
    }

    pub fn postal_code(self, code: &str) -> Self {
        self.text(61, code)
    }

    /// A sub-object of the additional data field template (62). `***`
    /// asks the wallet to prompt the customer for it (MPM 4.8).
    pub fn additional_data(self, sub_id: u8, value: &str) -> Self {
        self.sub(62, sub_id, value)
    }

    /// 62.01, the bill number: the terminal's merchant order number.
    pub fn bill_number(self, number: &str) -> Self {
        self.sub(62, 1, number)
    }

    /// 62.05, the reference label.
    pub fn reference_label(self, label: &str) -> Self {
        self.sub(62, 5, label)
    }

    /// 62.07, the terminal label (the terminal id).
    pub fn terminal_label(self, label: &str) -> Self {
        self.sub(62, 7, label)
    }

    /// The language template (64): the merchant's name, and optionally
    /// city, in the language `language` (ISO 639, e.g. `ZH`), any script.
    pub fn language(self, language: &str, name: &str, city: Option<&str>) -> Self {
        let mut children = vec![DataObject::text(0, language), DataObject::text(1, name)];
        children.extend(city.map(|c| DataObject::text(2, c)));
        self.set(DataObject::template(64, children))
    }

    /// The code, or the first rule it would break.
    pub fn build(self) -> Result<MerchantPresented, MpmError> {
        let mut objects = Vec::with_capacity(self.objects.len() + 1);
        for (id, value) in self.objects {
            let mut object = match value {
                Value::Text(t) => DataObject::text(id, t),
                Value::Template(children) => DataObject::template(id, children),
            };
            sort_templates(&mut object);
            check_ids(&object, &mut Vec::new())?;
            objects.push(object);
        }
        let mut code = encode_objects(&objects);
        code.push_str("6304");
        let crc = crc_value(&code);
        code.push_str(&crc);
        objects.push(DataObject::text(63, crc));
        if let Some(problem) = rules::problems(&objects, &code, Purpose::Write)
            .into_iter()
            .next()
        {
            return Err(problem);
        }
        Ok(MerchantPresented::from_objects(objects))
    }
}

/// Sub-objects in id order, as the root; a stable sort keeps duplicates
/// next to each other for the rules to name.
fn sort_templates(object: &mut DataObject) {
    if let Value::Template(children) = object.value_mut() {
        children.sort_by_key(DataObject::id);
        children.iter_mut().for_each(sort_templates);
    }
}

/// Ids are two digits; refuse any other before it is written.
fn check_ids(object: &DataObject, above: &mut Vec<u8>) -> Result<(), MpmError> {
    above.push(object.id());
    if object.id() > 99 {
        return Err(MpmError::IdOutOfRange(above.clone()));
    }
    for child in object.children() {
        check_ids(child, above)?;
    }
    above.pop();
    Ok(())
}
