//! Each vendor's firmware instruction: where a policy's next step goes in
//! its files, and that none is written once the phone runs the target.

use touchless_domain::Mac;

use crate::{Firmware, FirmwareStep, Phone, PhoneModel, Renderer, TenantFacts};

const URL: &str = "https://fw.example.com/img/next&1.bin";
/// [`URL`] as XML carries it.
const ESCAPED: &str = "https://fw.example.com/img/next&amp;1.bin";

fn phone(model: &str, mac: &str, firmware: Option<Firmware>) -> Phone<'static> {
    Phone {
        public_url: "https://prov.example.com",
        tenant: TenantFacts {
            id: "acme",
            name: "Acme",
            sip_host: "pbx.example.com",
            sip_port: 5060,
            settings: &[],
        },
        mac: Mac::parse(mac).unwrap(),
        model: PhoneModel::parse(model).unwrap(),
        name: "Desk",
        revision: 1,
        lines: Vec::new(),
        settings: &[],
        prov_user: "u",
        prov_pass: "p/w",
        firmware,
    }
}

fn step() -> Option<Firmware> {
    Some(Firmware {
        step: Some(FirmwareStep {
            version: "2.0.1".into(),
            url: URL.into(),
        }),
    })
}

fn at_target() -> Option<Firmware> {
    Some(Firmware { step: None })
}

/// The device file, and the firmware file where the vendor has one.
fn files(r: &Renderer, p: &Phone) -> (String, Option<String>) {
    let device = String::from_utf8(r.device(p).unwrap().to_vec()).unwrap();
    let fw = r
        .firmware_file(p)
        .unwrap()
        .map(|b| String::from_utf8(b.to_vec()).unwrap());
    (device, fw)
}

/// Whether a vendor's device file and firmware file carry the step.
type Check = dyn Fn(&str, Option<&str>) -> bool;

#[test]
fn each_vendor_names_the_next_image_and_nothing_at_the_target() {
    let r = Renderer::new(None).unwrap();
    let cases: &[(&str, &str, &Check)] = &[
        ("snomD785", "000413AABBCC", &|_d, fw| {
            fw.is_some_and(|f| f.contains(&format!("<firmware perm=\"R\">{ESCAPED}</firmware>")))
        }),
        ("gigasetP810", "000413AABBCD", &|_d, fw| {
            fw.is_some_and(|f| f.contains(ESCAPED))
        }),
        ("yealinkT46S", "805EC0123456", &|d, fw| {
            fw.is_none() && d.contains(&format!("static.firmware.url = {URL}\n"))
        }),
        ("fanvilX6U", "0C383E123456", &|d, fw| {
            fw.is_none()
                && d.contains(&format!("<Auto_Image_URL>{ESCAPED}</Auto_Image_URL>"))
                && d.contains("<Download_Mode>1</Download_Mode>")
        }),
        ("gigasetN870", "7C2F80123456", &|d, fw| {
            fw.is_none() && d.contains(&format!("<file version=\"2.0.1\" url=\"{ESCAPED}\"/>"))
        }),
        ("polyVVX450", "0004F2123456", &|_d, fw| {
            fw.is_some_and(|f| f.contains(&format!("APP_FILE_PATH=\"{ESCAPED}\"")))
        }),
    ];
    for (model, mac, check) in cases {
        let (device, fw) = files(&r, &phone(model, mac, step()));
        assert!(check(&device, fw.as_deref()), "{model}:\n{device}\n{fw:?}");
        // At the target: the image is named nowhere.
        let (device, fw) = files(&r, &phone(model, mac, at_target()));
        assert!(!device.contains("fw.example.com"), "{model}: {device}");
        assert!(
            !fw.as_deref().unwrap_or("").contains("fw.example.com"),
            "{model}: {fw:?}"
        );
        // No policy: no firmware file and the device file as before.
        let (plain, fw) = files(&r, &phone(model, mac, None));
        assert!(fw.is_none(), "{model}");
        assert!(!plain.contains("firmware_status"), "{model}");
    }
}

#[test]
fn snom_points_firmware_status_at_its_file_and_lets_it_update() {
    let r = Renderer::new(None).unwrap();
    let (device, _) = files(&r, &phone("snomD785", "000413AABBCC", at_target()));
    assert!(device.contains(
        "<firmware_status perm=\"R\">https://prov.example.com/prov/snomD785-000413AABBCC-firmware.xml</firmware_status>"
    ), "{device}");
    assert!(device.contains(">auto_update<"), "{device}");
    let (plain, _) = files(&r, &phone("snomD785", "000413AABBCC", None));
    assert!(plain.contains(">settings_only<"), "{plain}");
}

#[test]
fn firmware_file_names_parse_back_to_their_vendor_and_mac() {
    for (model, mac) in [
        ("snomD785", "000413AABBCC"),
        ("gigasetP810", "000413AABBCD"),
        ("polyVVX450", "0004F2123456"),
    ] {
        let m = PhoneModel::parse(model).unwrap();
        let mac = Mac::parse(mac).unwrap();
        let name = m.vendor().firmware_file_name(m, mac).unwrap();
        assert_eq!(
            crate::parse_firmware_file(&name),
            Some((m.vendor(), mac)),
            "{name}"
        );
    }
    for bad in [
        "snomD785-000413AABBCC.htm",
        "000000000000.cfg",
        "snomD785-firmware.xml",
    ] {
        assert!(crate::parse_firmware_file(bad).is_none(), "{bad}");
    }
}
