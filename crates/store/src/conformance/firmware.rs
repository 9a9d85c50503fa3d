//! Conformance cases of firmware policies: stored per target and model,
//! handed to the view when they change, and the device list's filter by
//! what phones report.

use touchless_domain::{FirmwareFilter, FirmwareImage, FirmwareVersion, Mac, TenantId};
use touchless_phones::PhoneModel;

use crate::{DeviceFilter, FirmwareStage, NewFirmwarePolicy, PolicyTarget, Store, StoreError};

use super::registry::contact;
use super::*;

fn stage(v: &str, image: &str) -> FirmwareStage {
    FirmwareStage {
        version: FirmwareVersion::parse(v).unwrap(),
        image: FirmwareImage::parse(image).unwrap(),
    }
}

fn policy(to: PolicyTarget, target: &str) -> NewFirmwarePolicy {
    NewFirmwarePolicy {
        applies_to: to,
        model: PhoneModel::parse("snomD717").unwrap(),
        target: stage(target, &format!("snomD717-{target}.bin")),
        steps: vec![stage("10.1.20", "https://fw.example.com/10.1.20.bin")],
    }
}

fn behind() -> DeviceFilter {
    DeviceFilter {
        firmware: Some(FirmwareFilter::Behind),
        ..DeviceFilter::default()
    }
}

fn macs(ds: Vec<crate::Device>) -> Vec<String> {
    ds.into_iter().map(|d| d.mac.to_string()).collect()
}

pub async fn firmware_policies_apply_and_phones_report(s: &dyn Store) {
    s.create_tenant(&new_tenant("acme")).await.unwrap();
    for mac in ["000413000001", "000413000002"] {
        s.create_device(&new_device(mac, "acme")).await.unwrap();
    }
    assert!(
        s.list_devices(&behind()).await.unwrap().is_empty(),
        "no policy: nobody is behind"
    );

    let g0 = s.generation().await.unwrap();
    let p = s
        .put_firmware_policy(&policy(PolicyTarget::Installation, "10.1.33.33"))
        .await
        .unwrap();
    assert_eq!(p.steps.len(), 1);
    assert_eq!(p.stages().last().unwrap().version.as_str(), "10.1.33.33");
    let c = s.changes_since(g0).await.unwrap();
    assert!(c.generation > g0, "a policy change moves the generation");
    assert_eq!(c.firmware.as_deref(), Some(std::slice::from_ref(&p)));
    assert!(s
        .changes_since(c.generation)
        .await
        .unwrap()
        .firmware
        .is_none());
    assert_eq!(s.snapshot().await.unwrap().firmware, vec![p.clone()]);

    // Nobody reported yet: both are behind. The contact's User-Agent says
    // 10.1.33.33 for ...01 (a 401 reports nothing).
    assert_eq!(s.list_devices(&behind()).await.unwrap().len(), 2);
    s.record_contacts(&[contact("000413000001", 401, 3)])
        .await
        .unwrap();
    assert_eq!(s.list_devices(&behind()).await.unwrap().len(), 2);
    let g1 = s.generation().await.unwrap();
    s.record_contacts(&[contact("000413000001", 200, 2)])
        .await
        .unwrap();
    assert_eq!(
        s.generation().await.unwrap(),
        g1,
        "a report is not a registry change"
    );
    let d = s
        .get_device(Mac::parse("000413000001").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.firmware.as_deref(), Some("10.1.33.33"));
    assert!(d.firmware_at.is_some());
    assert_eq!(
        macs(s.list_devices(&behind()).await.unwrap()),
        ["000413000002"]
    );
    let current = DeviceFilter {
        firmware: Some(FirmwareFilter::Current),
        ..DeviceFilter::default()
    };
    assert_eq!(
        macs(s.list_devices(&current).await.unwrap()),
        ["000413000001"]
    );

    // A tenant's policy is more specific than the installation's, and a
    // device's than its tenant's; putting the same target again replaces.
    s.put_firmware_policy(&policy(
        PolicyTarget::Tenant(TenantId::parse("acme").unwrap()),
        "10.1.46",
    ))
    .await
    .unwrap();
    assert_eq!(s.list_devices(&behind()).await.unwrap().len(), 2);
    let dev = PolicyTarget::Device(Mac::parse("000413000001").unwrap());
    let first = s
        .put_firmware_policy(&policy(dev.clone(), "10.1.20"))
        .await
        .unwrap();
    let again = s
        .put_firmware_policy(&policy(dev, "10.1.33.33"))
        .await
        .unwrap();
    assert_eq!(first.id, again.id, "one policy per target and model");
    assert_eq!(
        macs(s.list_devices(&behind()).await.unwrap()),
        ["000413000002"]
    );
    assert_eq!(s.firmware_policies().await.unwrap().len(), 3);

    // Unknown targets and ids are clean errors.
    let e = s
        .put_firmware_policy(&policy(
            PolicyTarget::Device(Mac::parse("000413FFFFFF").unwrap()),
            "1",
        ))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");
    let e = s
        .put_firmware_policy(&policy(
            PolicyTarget::Tenant(TenantId::parse("nope").unwrap()),
            "1",
        ))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");
    let g2 = s.generation().await.unwrap();
    s.delete_firmware_policy(again.id).await.unwrap();
    assert_eq!(
        s.changes_since(g2).await.unwrap().firmware.map(|f| f.len()),
        Some(2)
    );
    assert!(matches!(
        s.delete_firmware_policy(again.id).await.unwrap_err(),
        StoreError::NotFound { .. }
    ));
}
